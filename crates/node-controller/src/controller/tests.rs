//! The scheduler: coalescing, triggers, backoff.

use super::*;
use crate::test_support::NodeBuilder;

const MS: Duration = Duration::from_millis(1);

fn scheduler() -> Scheduler {
    let config = NodeControllerConfig {
        coalesce_window: 200 * MS,
        retry_base_delay: Duration::from_secs(1),
        retry_max_delay: Duration::from_secs(8),
        ..NodeControllerConfig::for_region("cn-hangzhou")
    };
    Scheduler::new(&config)
}

fn names(batch: Option<Vec<(String, Trigger)>>) -> Option<Vec<String>> {
    batch.map(|b| b.into_iter().map(|(name, _)| name).collect())
}

fn tainted(name: &str) -> NodeBuilder {
    NodeBuilder::new(name).uninitialized()
}

#[test]
fn a_burst_is_coalesced_into_one_batch_after_the_window() {
    let mut s = scheduler();
    let t0 = Instant::now();
    s.observe(&tainted("a").build(), t0);
    s.observe(&tainted("b").build(), t0 + 50 * MS);
    s.observe(&tainted("c").build(), t0 + 150 * MS);
    assert_eq!(s.next_wakeup(), Some(t0 + 200 * MS), "the window starts with the first node");
    assert_eq!(names(s.take_batch(t0 + 199 * MS)), None);
    assert_eq!(names(s.take_batch(t0 + 200 * MS)), Some(vec!["a".into(), "b".into(), "c".into()]));
    assert_eq!(names(s.take_batch(t0 + 300 * MS)), None);
    assert_eq!(s.next_wakeup(), None);
}

#[test]
fn heartbeats_do_not_retrigger_but_a_late_provider_id_does() {
    let mut s = scheduler();
    let t0 = Instant::now();
    s.observe(&tainted("a").kubelet_addresses("10.0.0.1").ready("False").build(), t0);
    assert!(names(s.take_batch(t0 + Duration::from_secs(1))).is_some());
    s.record("a".into(), Outcome::Settled, t0 + Duration::from_secs(1));

    let heartbeat = tainted("a").kubelet_addresses("10.0.0.1").ready("False").label("x", "y").build();
    s.observe(&heartbeat, t0 + Duration::from_secs(2));
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(3))), None, "nothing init-relevant changed");

    let late = tainted("a").provider_id("cn-hangzhou.i-1").kubelet_addresses("10.0.0.1").ready("False").build();
    s.observe(&late, t0 + Duration::from_secs(4));
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(4) + 200 * MS)), Some(vec!["a".into()]));
}

#[test]
fn initialized_nodes_are_not_retriggered_by_their_changes() {
    let mut s = scheduler();
    let t0 = Instant::now();
    let done = NodeBuilder::new("a").provider_id("cn-hangzhou.i-1").kubelet_addresses("10.0.0.1").ready("True");
    s.observe(&done.build(), t0);
    let moved = NodeBuilder::new("a").provider_id("cn-hangzhou.i-1").kubelet_addresses("10.0.0.2").ready("True");
    s.observe(&moved.build(), t0);
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(1))), None, "refresh ticks take care of them");
}

#[test]
fn readiness_transitions_trigger_the_lifecycle_rules() {
    let mut s = scheduler();
    let t0 = Instant::now();
    let node = |ready: &str| NodeBuilder::new("a").provider_id("cn-hangzhou.i-1").ready(ready);
    s.observe(&node("False").build(), t0);
    assert_eq!(
        names(s.take_batch(t0 + Duration::from_secs(1))),
        None,
        "at start the lifecycle tick covers NotReady nodes"
    );
    s.observe(&node("True").shutdown().build(), t0);
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(1))), Some(vec!["a".into()]), "Ready again: lose the taint");
    s.observe(&node("Unknown").build(), t0 + Duration::from_secs(2));
    assert_eq!(
        names(s.take_batch(t0 + Duration::from_secs(3))),
        Some(vec!["a".into()]),
        "went NotReady: check the cloud"
    );

    let mut fresh = scheduler();
    fresh.observe(&node("True").shutdown().build(), t0);
    assert!(names(fresh.take_batch(t0 + Duration::from_secs(1))).is_some(), "seen at start with the taint while Ready");
}

#[test]
fn excluded_nodes_never_enter_a_batch_from_changes() {
    let mut s = scheduler();
    let t0 = Instant::now();
    s.observe(&tainted("idc").provider_id("ack-hybrid://x").build(), t0);
    s.observe(&tainted("vk").label("type", "virtual-kubelet").build(), t0);
    s.observe(&NodeBuilder::new("plain").ready("False").build(), t0);
    s.observe(&NodeBuilder::new("plain").ready("True").build(), t0);
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(1))), None);
}

#[test]
fn failures_back_off_exponentially_up_to_the_max_and_success_resets() {
    let mut s = scheduler();
    let t0 = Instant::now();
    let mut now = t0;
    for expected in [1, 2, 4, 8, 8] {
        s.record("a".into(), Outcome::Failed, now);
        let due = now + Duration::from_secs(expected);
        assert_eq!(s.next_wakeup(), Some(due));
        assert_eq!(names(s.take_batch(due - MS)), None);
        assert_eq!(names(s.take_batch(due)), None, "promoted: the window starts now");
        assert_eq!(names(s.take_batch(due + 200 * MS)), Some(vec!["a".into()]));
        now = due + 200 * MS;
    }
    s.record("a".into(), Outcome::Settled, now);
    s.record("a".into(), Outcome::Blocked, now);
    assert_eq!(s.next_wakeup(), Some(now + Duration::from_secs(1)), "reset after success");
}

#[test]
fn new_information_skips_the_backoff_and_ticks_respect_it() {
    let mut s = scheduler();
    let t0 = Instant::now();
    let a = Arc::new(tainted("a").build());
    s.observe(&a, t0);
    names(s.take_batch(t0 + Duration::from_secs(1)));
    s.record("a".into(), Outcome::Failed, t0 + Duration::from_secs(1));
    s.record("a".into(), Outcome::Failed, t0 + Duration::from_secs(1));

    s.enqueue_tick([&a].into_iter(), t0 + Duration::from_secs(1));
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(2))), None, "a tick does not bypass the backoff");

    s.observe(&tainted("a").provider_id("cn-hangzhou.i-1").build(), t0 + Duration::from_secs(2));
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(2) + 200 * MS)), Some(vec!["a".into()]));
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(30))), None, "the old retry no longer fires");
}

#[test]
fn forgotten_nodes_leave_no_state() {
    let mut s = scheduler();
    let t0 = Instant::now();
    s.observe(&tainted("a").build(), t0);
    names(s.take_batch(t0 + Duration::from_secs(1)));
    s.record("a".into(), Outcome::Failed, t0);
    s.forget_missing(&[]);
    assert_eq!(s.next_wakeup(), None);
    s.observe(&tainted("a").build(), t0);
    assert!(names(s.take_batch(t0 + Duration::from_secs(1))).is_some(), "seen as new again");
}

#[test]
fn our_own_writes_during_initialization_do_not_cost_another_batch() {
    let mut s = scheduler();
    let t0 = Instant::now();
    s.observe(&tainted("a").kubelet_addresses("10.0.0.1").build(), t0);
    assert_eq!(names(s.take_batch(t0 + Duration::from_secs(1))), Some(vec!["a".into()]));
    // While the batch runs, our address write is seen before our taint removal.
    s.observe(&tainted("a").provider_id("cn-hangzhou.i-1").kubelet_addresses("10.0.0.9").build(), t0);
    s.record("a".into(), Outcome::Initialized, t0 + Duration::from_secs(1));
    assert_eq!(s.take_batch(t0 + Duration::from_secs(2)), None);
}

#[test]
fn a_provider_id_node_ignores_address_changes_and_triggers_merge_to_the_strongest() {
    let mut s = scheduler();
    let t0 = Instant::now();
    let a = tainted("a").provider_id("cn-hangzhou.i-1");
    s.observe(&a.build(), t0);
    s.take_batch(t0 + Duration::from_secs(1));
    s.observe(&tainted("a").provider_id("cn-hangzhou.i-1").kubelet_addresses("10.0.0.1").build(), t0);
    assert_eq!(s.take_batch(t0 + Duration::from_secs(2)), None, "addresses do not matter once the ID is known");

    let b = Arc::new(tainted("b").build());
    s.observe(&b, t0);
    s.enqueue_tick([&b].into_iter(), t0);
    assert_eq!(s.take_batch(t0 + Duration::from_secs(3)), Some(vec![("b".into(), Trigger::Periodic)]));
}

#[test]
fn ticks_pick_the_right_nodes() {
    let mut s = scheduler();
    let t0 = Instant::now();
    let ecs = |name: &str| NodeBuilder::new(name).provider_id("cn-hangzhou.i-1");
    let nodes: Vec<Arc<Node>> = vec![
        Arc::new(ecs("ready").ready("True").build()),
        Arc::new(ecs("not-ready").ready("False").build()),
        Arc::new(ecs("stopped").ready("False").shutdown().build()),
        Arc::new(ecs("back").ready("True").shutdown().build()),
        Arc::new(NodeBuilder::new("idc").ready("False").build()),
        Arc::new(tainted("joining").build()),
    ];
    s.lifecycle_tick(&nodes, t0);
    let lifecycle = names(s.take_batch(t0 + Duration::from_secs(1))).unwrap();
    assert_eq!(lifecycle, vec!["back".to_owned(), "not-ready".into()]);
    s.refresh_tick(&nodes, t0);
    let refresh = names(s.take_batch(t0 + Duration::from_secs(1))).unwrap();
    assert_eq!(
        refresh,
        vec!["back".to_owned(), "joining".into(), "not-ready".into(), "ready".into(), "stopped".into()]
    );
}
