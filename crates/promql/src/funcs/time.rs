//! Functions of time: sample timestamps (`timestamp`, `start_timestamp`) and calendar
//! fields of a Unix time (`hour`, `day_of_week`, ...).

use super::*;

/// `timestamp()` and `start_timestamp()`.
#[inline(never)]
pub(crate) fn timestamps(ev: &Ev, c: &Call) -> EvResult<Val> {
    let arg = &c.args[0];
    let series = if c.func.name == "timestamp" {
        match &arg.unwrap_parens().kind {
            ExprKind::Vector(vs) => {
                ev.eval_vector_selector(vs, SelectorValue::Timestamp, arg.pos)?
            }
            _ => {
                let mut v = ev.eval_vector(arg)?;
                for s in &mut v {
                    // Every sample's time, histograms' too.
                    let hist_times = std::mem::take(&mut s.hists).into_iter().map(|(t, _)| t);
                    let mut times: Vec<i64> =
                        s.points.iter().map(|p| p.0).chain(hist_times).collect();
                    times.sort_unstable();
                    s.points = times.into_iter().map(|t| (t, t as f64 / 1000.0)).collect();
                }
                v
            }
        }
    } else {
        // Only a selector's samples have start timestamps (and only when they are
        // used): any other argument gives nothing.
        match &arg.unwrap_parens().kind {
            ExprKind::Vector(vs) if ev.ctx.use_start_timestamps => {
                ev.eval_vector_selector(vs, SelectorValue::StartTimestamp, arg.pos)?
            }
            _ => Vec::new(),
        }
    };
    Ok(Val::Vector(
        series
            .into_iter()
            .map(|mut s| {
                s.drop_name = true;
                s
            })
            .collect(),
    ))
}

#[inline(never)]
pub(crate) fn date(ev: &Ev, c: &Call) -> EvResult<Val> {
    let input = match c.args.first() {
        None => vec![SeriesV {
            labels: Labels::default(),
            drop_name: false,
            points: ev.steps().map(|t| (t, t as f64 / 1000.0)).collect(),
            hists: Vec::new(),
        }],
        Some(arg) => ev.eval_vector(arg)?,
    };
    let name = c.func.name;
    Ok(Val::Vector(map_values(input, |v, _| {
        Some(date_part(name, v))
    })))
}

pub(crate) fn date_part(name: &str, v: f64) -> f64 {
    let secs = v as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let m = i64::from(m);
    match name {
        "hour" => (rem / 3600) as f64,
        "minute" => ((rem % 3600) / 60) as f64,
        "month" => m as f64,
        "year" => y as f64,
        "day_of_month" => d as f64,
        "day_of_week" => ((days + 4).rem_euclid(7)) as f64,
        "day_of_year" => (days - days_from_civil(y, 1, 1) + 1) as f64,
        "days_in_month" => {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)) as f64
        }
        _ => f64::NAN,
    }
}
