//! The allocator: mimalloc, set up before the Rust runtime starts. Left out when built
//! with the `system-allocator` feature (glibc's malloc), for heap profilers such as
//! heaptrack that follow malloc and free (`scripts/heap-profile`).

/// mimalloc instead of the system allocator: queries build and drop many small label
/// strings and sample vectors on several threads, where glibc's malloc spent half of a
/// query's time (measured in ARCHITECTURE.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's arenas are committed as their pages are first used, not all at once when
/// reserved (its default on Linux): freed memory in an eagerly committed arena stays in
/// the resident set. `scripts/bench-agent` measures the difference (README). The option
/// must be set before the first Rust allocation reserves the first arena, so this runs as
/// an ELF initializer, before the Rust runtime starts (in `main` it would be too late).
///
/// Freed memory is returned to the system after [`ALLOCATOR_PURGE_DELAY_MS`] rather than
/// mimalloc's one second: a scrape's buffers (its body, the decoded samples) are freed and
/// wanted again at the next scrape, and a purge in between made every scrape fault its
/// pages back in and flush other cores' TLBs (a tenth of the CPU time scraping native
/// histograms every 5 s). `MIMALLOC_PURGE_DELAY` in the environment still overrides it.
extern "C" fn commit_arena_memory_on_demand() {
    set_allocator_option(MI_OPTION_ARENA_EAGER_COMMIT, 0);
    // SAFETY: as in `set_allocator_option`; a default is only read when the option is
    // first used, and the environment takes precedence over it.
    unsafe {
        if (30_000..40_000).contains(&libmimalloc_sys::mi_version()) {
            libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, ALLOCATOR_PURGE_DELAY_MS);
        }
    }
}

/// How long freed memory stays with the allocator before it goes back to the system:
/// longer than the usual short scrape interval (5 to 10 s), short enough that memory freed
/// after a burst (a large query) is returned soon after.
const ALLOCATOR_PURGE_DELAY_MS: std::ffi::c_long = 10_000;

#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ARENA_MEMORY_ON_DEMAND: extern "C" fn() = commit_arena_memory_on_demand;

/// The `mi_option_t` values of mimalloc 3's `mimalloc.h` that `libmimalloc-sys` does not name.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
/// mimalloc 3's `mi_option_purge_delay`, also unnamed there.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets a mimalloc option, only on the major version whose numbering the constant above
/// follows (`mi_version` is major * 10000 + minor * 100 + patch).
fn set_allocator_option(option: libmimalloc_sys::mi_option_t, value: i64) {
    // SAFETY: `mi_version` reads a constant; `mi_option_set` stores a value the allocator
    // reads when it next needs it (options are plain integers, never freed).
    unsafe {
        if (30_000..40_000).contains(&libmimalloc_sys::mi_version()) {
            libmimalloc_sys::mi_option_set(option, value as _);
        }
    }
}
