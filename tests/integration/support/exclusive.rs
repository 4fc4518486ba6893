//! One lock between the tests of this binary: runs share it, speed-sensitive tests own it.

use std::cell::Cell;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Tests that time real suites take this lock exclusively; every `planrun` run through
/// [`Test::run`](super::Test::run) takes it shared. cargo runs tests on parallel threads, and
/// with two cores a neighbour's commands would end up in a measurement.
static ISOLATION: RwLock<()> = RwLock::new(());

thread_local! {
    static EXCLUSIVE: Cell<bool> = const { Cell::new(false) };
}

/// Holds the whole test binary to this test until dropped.
pub struct Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>);

/// Waits until no other test runs `planrun`, then keeps them waiting while the guard lives.
pub fn exclusive() -> Exclusive {
    let guard = ISOLATION.write().unwrap_or_else(PoisonError::into_inner);
    EXCLUSIVE.with(|e| e.set(true));
    Exclusive(guard)
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        EXCLUSIVE.with(|e| e.set(false));
    }
}

/// A shared hold for one `planrun` run; none inside a test that already holds it exclusively.
pub(super) fn shared() -> Option<RwLockReadGuard<'static, ()>> {
    if EXCLUSIVE.with(Cell::get) {
        None
    } else {
        Some(ISOLATION.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A shared hold for work of a test's own that loads the machine (building a wheel): tests
/// that time suites wait until it is dropped, other tests go on beside it.
pub fn busy() -> Option<RwLockReadGuard<'static, ()>> {
    shared()
}
