//! When to ping a silent peer and when to give up on it. The server ticks every connection
//! once an interval (`Outbox::keepalive_tick`); reads only set a flag, so neither an idle
//! connection nor a busy one pays for a timer of its own.

#[derive(Default)]
pub(super) struct Keepalive {
    heard: bool,
    pinged: bool,
}

/// What an interval's end calls for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// The peer spoke during the interval.
    Wait,
    /// The peer was silent for one interval: ask it to answer.
    Ping,
    /// Silent for two, the ping unanswered: it is gone.
    Close,
}

impl Keepalive {
    /// The peer sent something (a pong included).
    pub(super) fn heard(&mut self) {
        self.heard = true;
    }

    /// What to do now that an interval has ended.
    pub(super) fn next_step(&mut self) -> Step {
        let step = match (std::mem::take(&mut self.heard), self.pinged) {
            (true, _) => Step::Wait,
            (false, false) => Step::Ping,
            (false, true) => Step::Close,
        };
        self.pinged = step == Step::Ping;
        step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_peer_is_pinged_then_closed_and_any_message_starts_over() {
        let mut keepalive = Keepalive::default();
        assert_eq!(keepalive.next_step(), Step::Ping);
        keepalive.heard();
        assert_eq!(keepalive.next_step(), Step::Wait, "the pong counts");
        assert_eq!(keepalive.next_step(), Step::Ping);
        assert_eq!(keepalive.next_step(), Step::Close);
    }
}
