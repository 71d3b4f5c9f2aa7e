//! Competing blocks and branches: both verify everywhere, one is accepted, the other rejected
//! (by the host, or swept when the host never will), and every transfer ends up where it
//! belongs: accepted once, pending again, or dropped.

use super::{accepted_at, admit, deliver, unfunded};
use crate::chain::tx::address_of;
use crate::chain::{
    Account, BlockError, BlockStatus, Chain, SealedBlock, SignedTx, TxError, TxStatus,
};
use crate::keys::dev_key;
use crate::test_utils::{
    assert_accepted_invariants, open_chain, Transfer, DEV_BALANCE, MIN_FEE, NOW_MS,
};

/// Two nodes that built competing blocks on genesis: X built A from `t1` (dev 0 sends 1 000 to
/// unfunded 1), Y built B from `t2` (2 000 to unfunded 2, from dev 0 with the same nonce when
/// the two conflict, else from dev 1). Each verified the other's block; Y prefers its own.
struct Race {
    x: Chain,
    y: Chain,
    t1: SignedTx,
    t2: SignedTx,
    a: SealedBlock,
    b: SealedBlock,
}

fn race(conflict: bool) -> Race {
    let (mut x, mut y) = (open_chain(), open_chain());
    let t1 = Transfer::from_dev(0).to(unfunded(1)).amount(1_000).sign();
    // Same sender, same nonce, different recipient: only one can ever apply.
    let t2 = Transfer::from_dev(if conflict { 0 } else { 1 })
        .to(unfunded(2))
        .amount(2_000)
        .sign();
    admit(&mut x, t1);
    admit(&mut y, t2);
    let a = x.build_block(NOW_MS).unwrap();
    let b = y.build_block(NOW_MS).unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(a.block.parent_id, x.genesis_id());
    assert_eq!(b.block.parent_id, y.genesis_id());
    assert_eq!(a.block.txs, vec![t1]);
    assert_eq!(b.block.txs, vec![t2]);
    deliver(&mut x, &b, NOW_MS).unwrap();
    deliver(&mut y, &a, NOW_MS).unwrap();
    // Y liked its own block better for a while.
    y.set_preference(b.id).unwrap();
    Race { x, y, t1, t2, a, b }
}

/// Both nodes accept A and reject B; they agree, and dev 0 paid for `t1` alone.
fn a_wins(race: &mut Race) {
    let Race { x, y, t1, a, b, .. } = race;
    for chain in [&mut *x, &mut *y] {
        assert_eq!(chain.processing_count(), 2);
        assert_eq!(chain.accept_block(a.id).unwrap(), *a);
        assert_eq!(chain.preferred(), a.id, "preference leaves the dead branch");
        chain.reject_block(b.id, NOW_MS).unwrap();
        assert_eq!(chain.processing_count(), 0);
        assert_eq!(chain.last_accepted().id, a.id);
        assert_eq!(chain.recompute_digest(), a.block.state_digest);
        assert_accepted_invariants(chain);
        assert_eq!(chain.tx_status(&t1.id()), accepted_at(a));
    }
    let dev0 = address_of(&dev_key(0));
    let touched = [dev0, address_of(&dev_key(1))].into_iter();
    for address in touched.chain((1..=3).map(unfunded)) {
        assert_eq!(x.account(&address), y.account(&address));
    }
    assert_eq!(x.recompute_digest(), y.recompute_digest());
    let balance = DEV_BALANCE - 1_000 - MIN_FEE;
    assert_eq!(x.account(&dev0), Account { balance, nonce: 1 });
    assert_eq!(x.account(&unfunded(1)).balance, 1_000);
    assert_eq!(x.account(&unfunded(2)), Account::default());
    assert_eq!(x.burned(), MIN_FEE);
}

#[test]
fn competing_blocks_with_conflicting_transfers() {
    let mut race = race(true);
    let Race { y, t2, b, .. } = &mut race;
    // A pending transfer on Y that A makes impossible (dev 0's nonce 0 once more).
    let t3 = Transfer::from_dev(0).to(unfunded(3)).amount(3_000).sign();
    // Y's mempool no longer holds t2 (it is in B), and on B's branch nonce 0 is used.
    assert!(!y.mempool().contains(&t2.id()));
    assert!(matches!(
        y.check_and_admit(t3, NOW_MS),
        Err(TxError::NonceTooLow { .. })
    ));
    y.set_preference(y.genesis_id()).unwrap();
    admit(y, t3);
    y.set_preference(b.id).unwrap();

    a_wins(&mut race);
    let Race { x, y, t2, .. } = &mut race;
    for chain in [&*x, &*y] {
        let status = chain.tx_status(&t2.id());
        assert!(
            matches!(status, TxStatus::Rejected { .. } | TxStatus::Dropped { .. }),
            "{status:?}"
        );
        assert!(!chain.mempool().contains(&t2.id()));
    }
    assert!(matches!(y.tx_status(&t3.id()), TxStatus::Dropped { .. }));
    assert!(y.mempool().is_empty());
    assert_eq!(y.pending_nonce(&address_of(&dev_key(0))), 1);
    assert_eq!(
        y.build_block(NOW_MS + 1_000),
        Err(BlockError::NothingToBuild)
    );
}

#[test]
fn competing_blocks_with_independent_transfers() {
    let mut race = race(false);
    a_wins(&mut race);
    let Race { x, y, t2, a, .. } = &mut race;
    // B's transfer still applies after A: it is pending again, on both nodes.
    for chain in [&*x, &*y] {
        assert_eq!(chain.tx_status(&t2.id()), TxStatus::Pending);
        assert!(chain.mempool().contains(&t2.id()));
        assert_eq!(chain.pending_nonce(&address_of(&dev_key(1))), 1);
    }
    let c = y.build_block(NOW_MS + 1_000).unwrap();
    assert_eq!(c.block.parent_id, a.id);
    assert_eq!(c.block.height, 2);
    assert_eq!(c.block.txs, vec![*t2]);
    deliver(x, &c, NOW_MS + 1_000).unwrap();
    assert!(x.mempool().is_empty(), "the verified block took t2 out");
    for chain in [&mut *x, &mut *y] {
        chain.accept_block(c.id).unwrap();
        assert_accepted_invariants(chain);
        assert_eq!(chain.tx_status(&t2.id()), accepted_at(&c));
    }
    assert_eq!(x.account(&unfunded(2)).balance, 2_000);
    assert_eq!(x.account(&unfunded(2)), y.account(&unfunded(2)));
    assert_eq!(x.recompute_digest(), y.recompute_digest());
}

#[test]
fn a_transfer_in_two_competing_blocks_is_reported_accepted_whatever_the_decision_order() {
    // t is in both A (built by X) and B (built by Y, with one more transfer). Whether the host
    // rejects B before or after accepting A, t ends up accepted, not pending, not dropped.
    for reject_first in [false, true] {
        let (mut x, mut y) = (open_chain(), open_chain());
        let t = Transfer::from_dev(0).to(unfunded(1)).amount(5).sign();
        let other = Transfer::from_dev(1).to(unfunded(2)).amount(6).sign();
        admit(&mut x, t);
        admit(&mut y, t);
        admit(&mut y, other);
        let a = x.build_block(NOW_MS).unwrap();
        let b = y.build_block(NOW_MS).unwrap();
        assert_ne!(a.id, b.id);
        deliver(&mut x, &b, NOW_MS).unwrap();
        deliver(&mut y, &a, NOW_MS).unwrap();
        for chain in [&mut x, &mut y] {
            if reject_first {
                chain.reject_block(b.id, NOW_MS).unwrap();
                assert!(
                    matches!(chain.tx_status(&t.id()), TxStatus::Processing { block_id } if block_id == a.id),
                    "t is still in A: {:?}",
                    chain.tx_status(&t.id())
                );
                assert!(!chain.mempool().contains(&t.id()));
                chain.accept_block(a.id).unwrap();
            } else {
                chain.accept_block(a.id).unwrap();
                chain.reject_block(b.id, NOW_MS).unwrap();
            }
            assert_eq!(chain.tx_status(&t.id()), accepted_at(&a), "{reject_first}");
            assert!(!chain.mempool().contains(&t.id()));
            assert_eq!(chain.tx_status(&other.id()), TxStatus::Pending);
            assert_accepted_invariants(chain);
        }
    }
}

#[test]
fn a_transfer_still_held_by_a_live_block_is_not_returned_by_a_rejection() {
    // Branch 1: S, then A holding t. Branch 2: B holding t and another transfer. S is accepted,
    // so B is rejected while A is still undecided: t must stay processing in A (not pending,
    // not rejected), and be reported accepted once A is.
    let t = Transfer::from_dev(0).to(unfunded(1)).amount(5).sign();
    let s_tx = Transfer::from_dev(2).to(unfunded(2)).amount(6).sign();
    let other = Transfer::from_dev(1).to(unfunded(3)).amount(7).sign();
    let mut x = open_chain();
    admit(&mut x, s_tx);
    let s = x.build_block(NOW_MS).unwrap();
    x.set_preference(s.id).unwrap();
    admit(&mut x, t);
    let a = x.build_block(NOW_MS + 1_000).unwrap();
    assert_eq!(a.block.parent_id, s.id);
    let mut y = open_chain();
    admit(&mut y, t);
    admit(&mut y, other);
    let b = y.build_block(NOW_MS).unwrap();

    for prefer_b in [false, true] {
        let mut z = open_chain();
        for block in [&s, &a, &b] {
            deliver(&mut z, block, NOW_MS + 1_000).unwrap();
        }
        z.set_preference(if prefer_b { b.id } else { a.id })
            .unwrap();
        z.accept_block(s.id).unwrap();
        assert_eq!(z.preferred(), if prefer_b { s.id } else { a.id });
        z.reject_block(b.id, NOW_MS + 1_000).unwrap();
        assert_eq!(
            z.tx_status(&t.id()),
            TxStatus::Processing { block_id: a.id },
            "prefer B: {prefer_b}"
        );
        assert!(!z.mempool().contains(&t.id()));
        assert_eq!(z.tx_status(&other.id()), TxStatus::Pending);
        z.accept_block(a.id).unwrap();
        assert_eq!(z.tx_status(&t.id()), accepted_at(&a));
        assert!(!z.mempool().contains(&t.id()));
        assert_accepted_invariants(&z);
        // The other transfer of B is built into the next block.
        let next = z.build_block(NOW_MS + 2_000).unwrap();
        assert_eq!(next.block.txs, vec![other]);
    }
}

#[test]
fn an_orphaned_block_the_host_never_rejects_gives_its_transfers_back() {
    // Y builds B, then C on B; the host never issued C (B was decided while C was built), so
    // it will reject B but never C. X's A wins. Without the sweep, t2 (nonce 1) stayed
    // processing in C for ever and every later transfer of that sender waited behind it.
    let (mut x, mut y) = (open_chain(), open_chain());
    let t0 = Transfer::from_dev(0).to(unfunded(1)).amount(1_000).sign();
    let t1 = Transfer::from_dev(1).to(unfunded(2)).amount(2_000).sign();
    let t2 = Transfer::from_dev(1).to(unfunded(2)).amount(3_000).nonce(1);
    let t2 = t2.sign();
    admit(&mut x, t0);
    admit(&mut y, t1);
    let b = y.build_block(NOW_MS).unwrap();
    y.set_preference(b.id).unwrap();
    admit(&mut y, t2);
    let c = y.build_block(NOW_MS).unwrap();
    assert_eq!(c.block.parent_id, b.id);
    let a = x.build_block(NOW_MS).unwrap();
    deliver(&mut y, &a, NOW_MS).unwrap();
    assert_eq!(y.processing_count(), 3);

    y.accept_block(a.id).unwrap();
    assert_eq!(
        y.reject_stale(NOW_MS),
        2,
        "B (height 1) and then C (parent gone)"
    );
    assert_eq!(y.processing_count(), 0);
    // The host's own Reject of B comes after, and is harmless.
    y.reject_block(b.id, NOW_MS).unwrap();
    assert_eq!(y.reject_stale(NOW_MS), 0);
    for t in [t1, t2] {
        assert_eq!(y.tx_status(&t.id()), TxStatus::Pending);
        assert!(y.mempool().contains(&t.id()));
    }
    let next = y.build_block(NOW_MS).unwrap();
    assert_eq!(next.block.parent_id, a.id);
    assert_eq!(next.block.txs, vec![t1, t2]);
}

/// Y's block C on top of B, with a transfer X has never seen (so X must check its signature).
fn child_of_b(race: &mut Race) -> SealedBlock {
    let t3 = Transfer::from_dev(1)
        .nonce(1)
        .to(unfunded(3))
        .amount(5)
        .sign();
    admit(&mut race.y, t3);
    let c = race.y.build_block(NOW_MS).unwrap();
    assert_eq!(c.block.parent_id, race.b.id);
    c
}

#[test]
fn a_block_whose_parent_is_rejected_while_its_signatures_are_checked_is_refused() {
    let mut race = race(false);
    let c = child_of_b(&mut race);
    let x = &mut race.x;
    let work = x.signatures_to_check(&c);
    assert!(!work.is_empty());
    let checked = x.check_block(&c, NOW_MS).unwrap();
    // Meanwhile (the node checks signatures without the lock) consensus decides for A.
    x.accept_block(race.a.id).unwrap();
    x.reject_block(race.b.id, NOW_MS).unwrap();
    let proof = work.run().unwrap();
    assert_eq!(
        x.record_verified(c.clone(), checked, proof),
        Err(BlockError::UnknownParent(race.b.id))
    );
    assert_eq!(x.processing_count(), 0);
    assert_accepted_invariants(x);
}

#[test]
fn a_block_whose_parent_is_accepted_while_its_signatures_are_checked_is_recorded() {
    let mut race = race(false);
    let c = child_of_b(&mut race);
    let x = &mut race.x;
    let work = x.signatures_to_check(&c);
    let checked = x.check_block(&c, NOW_MS).unwrap();
    x.accept_block(race.b.id).unwrap();
    x.reject_block(race.a.id, NOW_MS).unwrap();
    x.record_verified(c.clone(), checked, work.run().unwrap())
        .unwrap();
    x.accept_block(c.id).unwrap();
    assert_eq!(x.recompute_digest(), c.block.state_digest);
    assert_accepted_invariants(x);
}

#[test]
fn a_state_check_is_never_recorded_for_another_block() {
    let mut race = race(false);
    let c = child_of_b(&mut race);
    let checked = race.x.check_block(&c, NOW_MS).unwrap();
    let proof = race.x.signatures_to_check(&race.a).run().unwrap();
    let other = race.a.clone();
    // A is already processing: recording is a no-op, whatever the check was of.
    assert_eq!(race.x.record_verified(other, checked, proof), Ok(()));
    let checked = race.x.check_block(&c, NOW_MS).unwrap();
    let mut forged = c.clone();
    forged.id = crate::chain::Id([9; 32]);
    let proof = race.x.signatures_to_check(&c).run().unwrap();
    assert!(matches!(
        race.x.record_verified(forged, checked, proof),
        Err(BlockError::Malformed(_))
    ));
}

/// A chain holding two competing blocks on genesis, B (dev 1's transfer, built here) and D
/// (dev 2's, built by another node), and C on B (dev 3's).
fn siblings_and_a_child() -> (Chain, SealedBlock, SealedBlock, SealedBlock) {
    let mut other = open_chain();
    admit(&mut other, Transfer::from_dev(2).to(unfunded(1)).sign());
    let d = other.build_block(NOW_MS).unwrap();
    let mut chain = open_chain();
    admit(&mut chain, Transfer::from_dev(1).to(unfunded(1)).sign());
    let b = chain.build_block(NOW_MS).unwrap();
    chain.set_preference(b.id).unwrap();
    admit(&mut chain, Transfer::from_dev(3).to(unfunded(1)).sign());
    let c = chain.build_block(NOW_MS).unwrap();
    assert_eq!(c.block.parent_id, b.id);
    deliver(&mut chain, &d, NOW_MS).unwrap();
    (chain, b, c, d)
}

#[test]
fn rejecting_a_block_moves_the_preference_only_off_a_dead_branch() {
    // Preferring the sibling D: rejecting B leaves the preference on D.
    let (mut chain, b, _, d) = siblings_and_a_child();
    chain.set_preference(d.id).unwrap();
    chain.reject_block(b.id, NOW_MS).unwrap();
    assert_eq!(chain.preferred(), d.id);
    // Preferring C, B's child: rejecting B kills C's branch, so back to the last accepted.
    let (mut chain, b, c, _) = siblings_and_a_child();
    chain.set_preference(c.id).unwrap();
    chain.reject_block(b.id, NOW_MS).unwrap();
    assert_eq!(chain.preferred(), chain.last_accepted().id);
    // Preferring B itself.
    let (mut chain, b, _, _) = siblings_and_a_child();
    chain.set_preference(b.id).unwrap();
    chain.reject_block(b.id, NOW_MS).unwrap();
    assert_eq!(chain.preferred(), chain.last_accepted().id);
}

#[test]
fn an_accepted_block_cannot_be_rejected_and_its_decided_sibling_is_rejected() {
    let (mut chain, b, _, d) = siblings_and_a_child();
    chain.accept_block(d.id).unwrap();
    assert_eq!(
        chain.reject_block(d.id, NOW_MS),
        Err(BlockError::AlreadyAccepted(d.id))
    );
    assert_eq!(chain.block_status(&d), BlockStatus::Accepted);
    // B lost at D's height: rejected, and rejecting it (again) is harmless.
    assert_eq!(chain.block_status(&b), BlockStatus::Rejected);
    assert_eq!(chain.reject_block(b.id, NOW_MS), Ok(()));
    assert_eq!(chain.reject_block(b.id, NOW_MS), Ok(()));
}

#[test]
fn the_sweep_rejects_the_losing_sibling_and_keeps_a_child_of_the_accepted_block() {
    let (mut chain, b, c, d) = siblings_and_a_child();
    chain.accept_block(b.id).unwrap();
    assert_eq!(
        chain.reject_stale(NOW_MS),
        1,
        "D lost at B's height; C builds on B"
    );
    assert_eq!(chain.processing_count(), 1);
    assert!(matches!(
        chain.reject_block(d.id, NOW_MS),
        Ok(()) | Err(BlockError::NotFound(_))
    ));
    chain.accept_block(c.id).unwrap();
    assert_accepted_invariants(&chain);
}
