//! Real programs from Debian (Prometheus 2.42, VictoriaMetrics) run on loopback ports
//! beside ours, and the wait for a port to listen that every start shares.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether an HTTP server answers on the loopback `port`. Connecting is not enough: a
/// connection to a port nobody listens on can still succeed, to itself (Linux's TCP
/// self-connect, when the ephemeral port picked is that port) or to another probe whose
/// ephemeral port is the port this one probes while it probes ours (simultaneous open).
/// Neither answers a request.
pub fn listening(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut start = [0u8; 5];
    stream.read_exact(&mut start).is_ok() && &start == b"HTTP/"
}

/// A program of Debian's run for one test; killed when dropped.
pub struct Peer {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// Spawns `program` with `args`, its stderr in `<dir>/<name>-<port>.log`; does not wait.
    pub fn spawn(dir: &Path, name: &str, program: &str, port: u16, args: &[String]) -> Peer {
        let log = dir.join(format!("{name}-{port}.log"));
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{program}: {e}: the Debian packages are needed (scripts/test installs them)"
                )
            });
        Peer { child, port, log }
    }

    /// Debian's Prometheus 2.42 on `port` with `config` (written to
    /// `<dir>/prometheus-<port>.yml`), its data in `data` or `<dir>/prometheus-data-<port>`,
    /// `extra` flags after ours; does not wait.
    pub fn prometheus(
        dir: &Path,
        port: u16,
        config: &str,
        data: Option<&Path>,
        extra: &[&str],
    ) -> Peer {
        let file = dir.join(format!("prometheus-{port}.yml"));
        std::fs::write(&file, config).unwrap();
        let data = data
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.join(format!("prometheus-data-{port}")));
        let mut args = vec![
            format!("--config.file={}", file.display()),
            format!("--storage.tsdb.path={}", data.display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        Peer::spawn(dir, "prometheus", "/usr/bin/prometheus", port, &args)
    }

    /// Debian's VictoriaMetrics on `port`, answering recent samples at once; does not wait.
    pub fn victoria_metrics(dir: &Path, port: u16) -> Peer {
        let args = [
            format!("-httpListenAddr=127.0.0.1:{port}"),
            format!(
                "-storageDataPath={}",
                dir.join(format!("vm-data-{port}")).display()
            ),
            // By default the last minute is left out of answers.
            "-search.latencyOffset=0s".to_string(),
            "-search.disableCache".to_string(),
        ];
        Peer::spawn(
            dir,
            "victoria-metrics",
            "/usr/bin/victoria-metrics",
            port,
            &args,
        )
    }

    /// Waits (30 s at most) until it listens; panics with its log if it exits first.
    pub fn wait_listening(self) -> Peer {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut peer = self;
        loop {
            if let Ok(Some(status)) = peer.child.try_wait() {
                panic!(
                    "{} exited ({status}): {}",
                    peer.log.display(),
                    peer.log_text()
                );
            }
            if listening(peer.port) {
                return peer;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {}: {}",
                peer.log.display(),
                peer.port,
                peer.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
