//! The connection cap: a place per served connection, and the list of connections with what
//! each is doing, so that at the cap the one that has waited longest for a request head can
//! be asked to make room.
//!
//! A connection is *in a request* from the moment its request head has been read until the
//! response body is dropped ([`InRequest`]); otherwise it is waiting for a head (a new
//! connection, a slow sender, or an idle keep-alive one), and only those are ever evicted,
//! unless the socket has not yet taken all of an answer (`write_blocked`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// What the accept loop and the connections share.
pub struct Slots {
    /// One permit per connection served (`server.max_connections`).
    pub places: Arc<Semaphore>,
    /// One permit per connection over the cap held while it waits or is refused
    /// (`server.connection_reserve`).
    pub reserve: Arc<Semaphore>,
    /// Orders the moments connections start waiting for a head (no two are equal).
    clock: AtomicU64,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
}

/// One served connection, as seen from outside its task.
pub struct ConnState {
    in_request: AtomicUsize,
    write_blocked: AtomicBool,
    /// When (on the [`Slots`] clock) it last started waiting for a head.
    waiting_since: AtomicU64,
    evicting: AtomicBool,
    /// Raised to ask the connection to close if it is still waiting for a head.
    pub evict: Notify,
    slots: Arc<Slots>,
}

/// A connection's registration: its place and its entry, both given back on drop.
pub struct Registration {
    pub state: Arc<ConnState>,
    id: u64,
    _place: OwnedSemaphorePermit,
}

/// Counts a connection as in a request while alive.
pub struct InRequest(Arc<ConnState>);

impl Slots {
    pub fn new(max_connections: usize, reserve: usize) -> Arc<Self> {
        Arc::new(Slots {
            places: Arc::new(Semaphore::new(max_connections)),
            reserve: Arc::new(Semaphore::new(reserve)),
            clock: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        })
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::AcqRel)
    }

    /// Registers a connection that holds `place`.
    pub fn register(self: &Arc<Self>, place: OwnedSemaphorePermit) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnState {
            in_request: AtomicUsize::new(0),
            write_blocked: AtomicBool::new(false),
            waiting_since: AtomicU64::new(self.tick()),
            evicting: AtomicBool::new(false),
            evict: Notify::new(),
            slots: self.clone(),
        });
        self.conns.lock().expect("slots lock").insert(id, state.clone());
        Registration { state, id, _place: place }
    }

    /// Asks the connection that has waited longest for a request head to close; false when
    /// every connection is in a request (or already asked).
    pub fn evict_longest_waiting(&self) -> bool {
        let conns = self.conns.lock().expect("slots lock");
        let victim = conns
            .values()
            .filter(|c| !c.busy() && !c.evicting.load(Ordering::Acquire))
            .min_by_key(|c| c.waiting_since.load(Ordering::Acquire));
        match victim {
            Some(c) => {
                c.evicting.store(true, Ordering::Release);
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }
}

impl ConnState {
    /// Whether a request is in progress on the connection, or an answer is still being
    /// written to it.
    pub fn busy(&self) -> bool {
        self.in_request.load(Ordering::Acquire) > 0 || self.write_blocked.load(Ordering::Acquire)
    }

    /// Records whether the socket refused the last write or flush.
    pub fn set_write_blocked(&self, blocked: bool) {
        self.write_blocked.store(blocked, Ordering::Release);
    }

    /// The connection was asked to close but is busy: it may be asked again later.
    pub fn keep(&self) {
        self.evicting.store(false, Ordering::Release);
    }

    /// Counts the connection as in a request until the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InRequest {
        self.in_request.fetch_add(1, Ordering::AcqRel);
        InRequest(self.clone())
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        let state = &self.0;
        state.waiting_since.store(state.slots.tick(), Ordering::Release);
        state.in_request.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.state.slots.conns.lock().expect("slots lock").remove(&self.id);
    }
}
