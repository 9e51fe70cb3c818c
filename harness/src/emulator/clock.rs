//! The emulator's clock: virtual while nothing real is outstanding, the
//! wall clock while real traffic may arrive.
//!
//! An in-process unit shares its clock with the runner driving it. While the
//! unit waits only for its own timers (ring cadence, PHYTIMEOUT, redial
//! delays, simulated network peers) and the runner waits for the unit, time
//! jumps to the next event instead of sleeping: a scenario that waits for a
//! one-minute timeout passes in microseconds, with the same transcript. While
//! a real peer may send bytes at any moment (a socket of the host network is
//! open), the clock follows the wall clock, so real servers see real timing.

use std::time::Instant;

/// A clock that stands still until moved, or follows the wall clock.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Emulated time at `anchor`.
    base: Instant,
    /// When following the wall clock: the wall time at which `base` was read.
    anchor: Option<Instant>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock that starts now, standing still.
    pub fn new() -> Clock {
        Clock { base: Instant::now(), anchor: None }
    }

    /// The emulated time.
    pub fn now(&self) -> Instant {
        match self.anchor {
            Some(anchor) => self.base + anchor.elapsed(),
            None => self.base,
        }
    }

    /// Whether the clock follows the wall clock.
    pub fn is_real(&self) -> bool {
        self.anchor.is_some()
    }

    /// Follow the wall clock (real traffic outstanding) or stand still.
    pub fn set_real(&mut self, real: bool) {
        match (real, self.anchor) {
            (true, None) => self.anchor = Some(Instant::now()),
            (false, Some(_)) => {
                self.base = self.now();
                self.anchor = None;
            }
            _ => {}
        }
    }

    /// Move the clock forward to `at` (never backwards).
    pub fn jump_to(&mut self, at: Instant) {
        if at > self.now() {
            self.base = at;
            if self.anchor.is_some() {
                self.anchor = Some(Instant::now());
            }
        }
    }

    /// The wall time at which the emulated time will be `at`, when following
    /// the wall clock (for a real sleep); `None` when standing still.
    pub fn wall_time_of(&self, at: Instant) -> Option<Instant> {
        let anchor = self.anchor?;
        let ahead = at.saturating_duration_since(self.now());
        Some(Instant::now().max(anchor) + ahead)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn stands_still_jumps_and_follows() {
        let mut c = Clock::new();
        let t0 = c.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.now(), t0, "a virtual clock stands still");
        c.jump_to(t0 + Duration::from_secs(60));
        assert_eq!(c.now(), t0 + Duration::from_secs(60));
        c.jump_to(t0);
        assert_eq!(c.now(), t0 + Duration::from_secs(60), "never backwards");
        c.set_real(true);
        std::thread::sleep(Duration::from_millis(5));
        assert!(c.now() >= t0 + Duration::from_secs(60) + Duration::from_millis(5));
        c.set_real(false);
        let frozen = c.now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(c.now(), frozen);
    }
}
