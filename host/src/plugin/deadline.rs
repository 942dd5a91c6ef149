//! A plugin call's deadline (`[plugins] deadline_ms`) counts the CPU time of
//! the thread running the call, not the time on the wall.
//!
//! The deadline is there to stop a plugin that computes too long: an endless
//! loop, a quadratic walk over a large event. Plugins cannot sleep or wait
//! (they have no clock and no I/O), so such a plugin burns CPU, and CPU time
//! catches it exactly. Wall-clock time also counts the time the thread waits
//! for a core: on a busy machine (a build, a neighbour, more runnable threads
//! than cores) a call that needs 5 ms of CPU may take longer than 100 ms
//! without being at fault, and the pipeline would stop on it.
//!
//! wasmtime interrupts a call at epoch ticks (a ticker thread advances the
//! epoch every 10 ms). When the ticks of the deadline have passed, the callback
//! below looks at the thread's CPU clock: a call that has not used its
//! deadline yet is given the ticks it has left, one that has is stopped.
//! `WALL_FACTOR` bounds the wall-clock time as well, so a call can never hold
//! the pipeline much longer than its deadline, whatever the CPU clock says.

use std::time::{Duration, Instant};

use wasmtime::{Trap, UpdateDeadline};

/// A call may take this many times its deadline on the wall, waiting for a
/// core, before it is stopped anyway.
pub(crate) const WALL_FACTOR: u32 = 10;

/// When the call under way started, by the thread's CPU clock and the wall.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallClock {
    cpu: Duration,
    wall: Instant,
}

impl CallClock {
    /// Taken on the thread that makes the call, right before it.
    pub(crate) fn start() -> Self {
        CallClock {
            cpu: thread_cpu_time(),
            wall: Instant::now(),
        }
    }

    /// What happens when the epoch deadline of a call started at `self`
    /// passes: it goes on for the ticks (of `tick`) its CPU time has left,
    /// or is stopped with the interrupt trap (reported as "deadline of N ms
    /// exceeded").
    pub(crate) fn on_deadline(
        &self,
        deadline: Duration,
        tick: Duration,
    ) -> wasmtime::Result<UpdateDeadline> {
        let used = thread_cpu_time().saturating_sub(self.cpu);
        match continue_for(used, self.wall.elapsed(), deadline, tick) {
            Some(ticks) => Ok(UpdateDeadline::Continue(ticks)),
            None => Err(Trap::Interrupt.into()),
        }
    }
}

/// The ticks a call that used `cpu` over `wall` may still run, or `None`
/// when it is past its deadline.
fn continue_for(cpu: Duration, wall: Duration, deadline: Duration, tick: Duration) -> Option<u64> {
    if cpu >= deadline || wall >= deadline * WALL_FACTOR {
        return None;
    }
    let left = deadline - cpu;
    Some((left.as_nanos().div_ceil(tick.as_nanos()) as u64).max(1))
}

/// The CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID
    // is supported by every Linux and macOS Sluice builds for.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        // Never seen; without a CPU clock the wall-clock bound still holds.
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const TICK: Duration = Duration::from_millis(10);

    #[test]
    fn a_call_that_waited_for_a_core_gets_the_cpu_time_it_has_left() {
        // 100 ms on the wall, 30 ms of CPU: 70 ms, 7 ticks, to go.
        assert_eq!(continue_for(30 * MS, 100 * MS, 100 * MS, TICK), Some(7));
        assert_eq!(continue_for(99 * MS, 150 * MS, 100 * MS, TICK), Some(1));
    }

    #[test]
    fn a_call_past_its_cpu_deadline_or_far_past_it_on_the_wall_stops() {
        assert_eq!(continue_for(100 * MS, 100 * MS, 100 * MS, TICK), None);
        assert_eq!(continue_for(MS, 1000 * MS, 100 * MS, TICK), None);
    }

    #[test]
    fn the_thread_cpu_clock_counts_work_and_not_sleep() {
        let start = thread_cpu_time();
        std::thread::sleep(30 * MS);
        let slept = thread_cpu_time() - start;
        let start = thread_cpu_time();
        let began = Instant::now();
        let mut x = 0u64;
        while began.elapsed() < 30 * MS {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let worked = thread_cpu_time() - start;
        assert!(slept < 10 * MS, "sleeping used {slept:?} of CPU");
        assert!(
            worked > slept,
            "working used {worked:?}, sleeping {slept:?}"
        );
    }
}
