//! The tick loop's schedule: when each tick fires, what a late tick does, and when the loop
//! stops (at its end, or when a stop signal comes first). Every sampling loop in the harness
//! runs on it: the recorder's ([`crate::record::repetition`], what `leakbench run` records),
//! and the sampled windows of `leakbench overhead`, so the overhead studies measure the
//! schedule users run.
//!
//! Owns timing only. Must not probe, write or decide what a tick does: the caller does a
//! tick's work between two calls of [`Ticker::next`], and stamps what it produces (a
//! [`crate::sample::Sample`] is stamped when its last probe answered, by
//! [`crate::record::repetition::take_sample`]).
//!
//! Its own file rather than a function of `repetition.rs`: the overhead studies use the
//! schedule without a repetition (no trace, no watchdog), and a repetition's loop adds its
//! own checks (the fixture's exit, the RSS cap) around it.

use std::convert::Infallible;
use std::future::{Future, Pending};
use std::pin::Pin;
use std::time::Duration;
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// How ticks are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// A tick every period, the first at once. A tick that comes late (the work of the one
    /// before ran past it) fires as soon as that work is done and the schedule restarts from
    /// it: late ticks are never bunched to catch up, so a slow probe spaces the samples out
    /// rather than firing a burst of them back to back (tokio's
    /// [`MissedTickBehavior::Delay`]).
    Every(Duration),
    /// The first tick at once, each next one this long after the work of the one before
    /// finished: back-to-back work with a rest between (overhead's probe-scale study).
    After(Duration),
}

/// What [`Ticker::next`] saw.
#[derive(Debug, PartialEq)]
pub enum Tick<S> {
    /// A tick before the end, fired at this instant: do its work.
    Due(Instant),
    /// The first tick at or after the end: the loop is over and this tick does no work. The
    /// end is checked when a tick fires, not waited for, so a loop whose length is not a
    /// whole number of periods stops at the first tick after it.
    End,
    /// The stop signal came before the next tick (an interrupt, an RSS cap), with its reason.
    /// It wins over a tick that is due at the same moment.
    Stopped(S),
}

/// The schedule of one tick loop, driven by the caller:
/// `while let Tick::Due(at) = ticker.next().await { /* work */ }`. After [`Tick::End`] or
/// [`Tick::Stopped`], every call returns [`Tick::End`] at once.
pub struct Ticker<F: Future> {
    pace: Pace,
    end: Instant,
    /// The period's schedule, for [`Pace::Every`]: created with the ticker, so its first
    /// tick is due at once.
    interval: Option<Interval>,
    started: bool,
    over: bool,
    stop: Pin<Box<F>>,
}

impl Ticker<Pending<Infallible>> {
    /// Ticks at `pace` until `end`, with no stop signal.
    pub fn new(pace: Pace, end: Instant) -> Self {
        Ticker::stopping_on(pace, end, std::future::pending())
    }
}

impl<F: Future> Ticker<F> {
    /// Ticks at `pace` until `end`, or until `stop` resolves. Call it inside a runtime.
    pub fn stopping_on(pace: Pace, end: Instant, stop: F) -> Self {
        let interval = match pace {
            Pace::Every(period) => {
                let mut i = tokio::time::interval(period);
                i.set_missed_tick_behavior(MissedTickBehavior::Delay);
                Some(i)
            }
            Pace::After(_) => None,
        };
        Ticker {
            pace,
            end,
            interval,
            started: false,
            over: false,
            stop: Box::pin(stop),
        }
    }

    /// Waits for the next tick, or for the stop signal; says whether to work, or why not.
    pub async fn next(&mut self) -> Tick<F::Output> {
        if self.over {
            return Tick::End;
        }
        let first = !std::mem::replace(&mut self.started, true);
        let (pace, interval) = (self.pace, &mut self.interval);
        let due = async move {
            match (pace, interval) {
                (_, Some(i)) => {
                    i.tick().await;
                }
                (Pace::After(rest), None) if !first => tokio::time::sleep(rest).await,
                _ => {}
            }
        };
        let fired = tokio::select! {
            biased;
            s = &mut self.stop => {
                self.over = true;
                return Tick::Stopped(s);
            }
            _ = due => Instant::now(),
        };
        if fired >= self.end {
            self.over = true;
            Tick::End
        } else {
            Tick::Due(fired)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: f64) -> Duration {
        Duration::from_secs_f64(x)
    }

    /// Runs a loop whose every tick works for `work`; returns each tick's time after the
    /// start, in seconds, and how the loop ended.
    async fn ticks<F: Future>(
        mut t: Ticker<F>,
        t0: Instant,
        work: Duration,
    ) -> (Vec<f64>, Tick<F::Output>) {
        let mut at = Vec::new();
        loop {
            match t.next().await {
                Tick::Due(i) => {
                    at.push((i - t0).as_secs_f64());
                    tokio::time::sleep(work).await;
                }
                other => return (at, other),
            }
        }
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.01)
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_every_period_from_at_once_and_stops_at_the_end() {
        let t0 = Instant::now();
        let t = Ticker::new(Pace::Every(s(1.0)), t0 + s(3.0));
        let (at, how) = ticks(t, t0, s(0.1)).await;
        assert!(close(&at, &[0.0, 1.0, 2.0]), "{at:?}");
        assert_eq!(how, Tick::End);
        // The tick at 3 s ended the loop: it came, and did no work.
        assert!((Instant::now() - t0).as_secs_f64() >= 3.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_tick_fires_when_the_work_is_done_and_restarts_the_schedule() {
        let t0 = Instant::now();
        let mut t = Ticker::new(Pace::Every(s(1.0)), t0 + s(6.0));
        let mut at = Vec::new();
        while let Tick::Due(i) = t.next().await {
            at.push((i - t0).as_secs_f64());
            // The first tick works 2.5 s, past the ticks due at 1 s and 2 s.
            if at.len() == 1 {
                tokio::time::sleep(s(2.5)).await;
            }
        }
        // The late tick fires once, at 2.5 s, and the next a period after it: the missed
        // ticks are not fired in a burst to catch up.
        assert!(close(&at, &[0.0, 2.5, 3.5, 4.5, 5.5]), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_end_between_ticks_stops_at_the_next_tick() {
        let t0 = Instant::now();
        let t = Ticker::new(Pace::Every(s(1.0)), t0 + s(2.5));
        let (at, how) = ticks(t, t0, Duration::ZERO).await;
        assert!(close(&at, &[0.0, 1.0, 2.0]), "{at:?}");
        assert_eq!(how, Tick::End);
        assert!(((Instant::now() - t0).as_secs_f64() - 3.0).abs() < 0.01);
    }

    #[tokio::test(start_paused = true)]
    async fn after_rests_between_the_end_of_one_tick_and_the_next() {
        let t0 = Instant::now();
        let t = Ticker::new(Pace::After(s(0.25)), t0 + s(2.0));
        let (at, how) = ticks(t, t0, s(0.5)).await;
        assert!(close(&at, &[0.0, 0.75, 1.5]), "{at:?}");
        assert_eq!(how, Tick::End);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_wins_over_a_due_tick_and_ends_the_loop() {
        let t0 = Instant::now();
        let stop = async {
            tokio::time::sleep(s(1.5)).await;
            "interrupted"
        };
        let mut t = Ticker::stopping_on(Pace::Every(s(1.0)), t0 + s(10.0), stop);
        assert!(matches!(t.next().await, Tick::Due(_)));
        assert!(matches!(t.next().await, Tick::Due(_)));
        // Work past the stop and the next tick: both are ready, the stop wins.
        tokio::time::sleep(s(1.5)).await;
        assert_eq!(t.next().await, Tick::Stopped("interrupted"));
        assert_eq!(t.next().await, Tick::End, "over stays over");
    }
}
