//! Moving a tenant to another shard while the server runs. The tenant's rows are copied while
//! writers go on; then its writes are paused at a gate, the rows that changed meanwhile are
//! brought over, the placement is switched in one catalog transaction and the gate opens on
//! the new shard; the old rows are removed after. Every writer of tenant rows (a scope's
//! write, a batch of campaign runs, the ingestion writers) passes the tenant's gate once a
//! move has begun, and holds its pass until its transaction committed, so no write lands on
//! the old shard after the switch.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use redb::{
    Durability, Key, ReadTransaction, ReadableDatabase, TableDefinition, Value, WriteTransaction,
};

use crate::error::{MoveRefusal, Result, StoreError};
use crate::ids::{
    CampaignId, ChatId, Day, MediaId, ReportId, RuleId, SecretId, TemplateId, TenantId,
};
use crate::tables::shard as s;
use crate::transfer::Portable;

/// One part of a tenant table's key after the tenant, with its smallest and largest value.
pub trait Bounded: Copy + serde::Serialize + serde::de::DeserializeOwned + 'static {
    const LO: Self;
    const HI: Self;
}

macro_rules! bounded {
    ($($t:ty => $lo:expr, $hi:expr;)*) => {$(
        impl Bounded for $t {
            const LO: Self = $lo;
            const HI: Self = $hi;
        }
    )*};
}

bounded! {
    u8 => 0, u8::MAX;
    u32 => 0, u32::MAX;
    u64 => 0, u64::MAX;
    i64 => i64::MIN, i64::MAX;
    ChatId => ChatId::MIN, ChatId::MAX;
    Day => Day::MIN, Day::MAX;
    SecretId => SecretId::MIN, SecretId::MAX;
    TemplateId => TemplateId::MIN, TemplateId::MAX;
    MediaId => MediaId::MIN, MediaId::MAX;
    CampaignId => CampaignId::MIN, CampaignId::MAX;
    ReportId => ReportId::MIN, ReportId::MAX;
    RuleId => RuleId::MIN, RuleId::MAX;
}

/// A key that starts with the tenant: all of one tenant's rows are the range `lo..=hi`.
pub trait TenantKeyed:
    for<'a> Key<SelfType<'a> = Self> + Copy + serde::Serialize + serde::de::DeserializeOwned + 'static
{
    fn lo(t: TenantId) -> Self;
    fn hi(t: TenantId) -> Self;
    /// The same key of another tenant (one imported under a new id).
    fn retenant(self, t: TenantId) -> Self;
}

impl TenantKeyed for TenantId {
    fn lo(t: TenantId) -> Self {
        t
    }
    fn hi(t: TenantId) -> Self {
        t
    }
    fn retenant(self, t: TenantId) -> Self {
        t
    }
}

impl<A: Bounded> TenantKeyed for (TenantId, A)
where
    (TenantId, A): for<'a> Key<SelfType<'a> = (TenantId, A)>,
{
    fn lo(t: TenantId) -> Self {
        (t, A::LO)
    }
    fn hi(t: TenantId) -> Self {
        (t, A::HI)
    }
    fn retenant(self, t: TenantId) -> Self {
        (t, self.1)
    }
}

impl<A: Bounded, B: Bounded> TenantKeyed for (TenantId, A, B)
where
    (TenantId, A, B): for<'a> Key<SelfType<'a> = (TenantId, A, B)>,
{
    fn lo(t: TenantId) -> Self {
        (t, A::LO, B::LO)
    }
    fn hi(t: TenantId) -> Self {
        (t, A::HI, B::HI)
    }
    fn retenant(self, t: TenantId) -> Self {
        (t, self.1, self.2)
    }
}

impl<A: Bounded, B: Bounded, C: Bounded> TenantKeyed for (TenantId, A, B, C)
where
    (TenantId, A, B, C): for<'a> Key<SelfType<'a> = (TenantId, A, B, C)>,
{
    fn lo(t: TenantId) -> Self {
        (t, A::LO, B::LO, C::LO)
    }
    fn hi(t: TenantId) -> Self {
        (t, A::HI, B::HI, C::HI)
    }
    fn retenant(self, t: TenantId) -> Self {
        (t, self.1, self.2, self.3)
    }
}

/// Something done to each of a tenant's tables in a shard.
pub trait TenantTables {
    fn table<K: TenantKeyed, V: Portable>(&mut self, def: TableDefinition<K, V>) -> Result<()>;
}

/// Visits every shard table keyed by tenant: what a tenant's data in its shard is.
pub fn visit(v: &mut impl TenantTables) -> Result<()> {
    v.table(s::SETTINGS)?;
    v.table(s::SECRETS)?;
    v.table(s::COUNTERS)?;
    v.table(s::USER_DAYS)?;
    v.table(s::TG_USERS)?;
    v.table(s::SESSIONS)?;
    v.table(s::GROUPS)?;
    v.table(s::TENANT_SEQ)?;
    v.table(s::TEMPLATES)?;
    v.table(s::TEMPLATE_VERSIONS)?;
    v.table(s::VARIABLES)?;
    v.table(s::MEDIA)?;
    v.table(s::CAMPAIGNS)?;
    v.table(s::RUNS)?;
    v.table(s::DELIVERIES)?;
    v.table(s::PENDING)?;
    v.table(s::SENDS)?;
    v.table(s::MEMBER_COUNTS)?;
    v.table(s::REPORTS)?;
    v.table(s::RULES)?;
    v.table(s::RULE_LOG)?;
    v.table(s::WARNINGS)?;
    v.table(s::CHANGES)?;
    Ok(())
}

/// Removes every row of `tenant` from a shard.
pub(crate) fn purge(tx: &WriteTransaction, tenant: TenantId) -> Result<()> {
    struct Purge<'a>(&'a WriteTransaction, TenantId);
    impl TenantTables for Purge<'_> {
        fn table<K: TenantKeyed, V: Portable>(&mut self, def: TableDefinition<K, V>) -> Result<()> {
            self.0
                .open_table(def)?
                .retain_in(K::lo(self.1)..=K::hi(self.1), |_, _| false)?;
            Ok(())
        }
    }
    visit(&mut Purge(tx, tenant))
}

/// Copies the tenant's rows that `from` sees and `to` lacks or holds differently into `dst`,
/// and removes from `dst` the tenant's rows `from` does not have: afterwards `dst` holds
/// exactly what `from` saw. `to` is a read of the destination before `dst` began. Returns the
/// rows written or removed.
struct Sync<'a> {
    tenant: TenantId,
    from: &'a ReadTransaction,
    to: &'a ReadTransaction,
    dst: &'a WriteTransaction,
    changed: u64,
    rows: u64,
}

fn open_or_empty<K: Key + 'static, V: Value + 'static>(
    tx: &ReadTransaction,
    def: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
    match tx.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl TenantTables for Sync<'_> {
    fn table<K: TenantKeyed, V: Portable>(&mut self, def: TableDefinition<K, V>) -> Result<()> {
        let (lo, hi) = (K::lo(self.tenant), K::hi(self.tenant));
        let Some(src) = open_or_empty(self.from, def)? else {
            return Ok(());
        };
        let mut out = self.dst.open_table(def)?;
        let old = open_or_empty(self.to, def)?;
        let mut old_rows = match &old {
            Some(t) => Some(t.range(lo..=hi)?),
            None => None,
        };
        let mut next_old = || -> Result<Option<(Vec<u8>, Vec<u8>)>> {
            match old_rows.as_mut().and_then(|r| r.next()) {
                Some(row) => {
                    let (k, v) = row?;
                    Ok(Some((
                        K::as_bytes(&k.value()).as_ref().to_vec(),
                        V::as_bytes(&v.value()).as_ref().to_vec(),
                    )))
                }
                None => Ok(None),
            }
        };
        let mut pending_old = next_old()?;
        for row in src.range(lo..=hi)? {
            let (k, v) = row?;
            let (key, value) = (k.value(), v.value());
            self.rows += 1;
            let kb = K::as_bytes(&key);
            let vb = V::as_bytes(&value);
            // Rows only the destination has, before this key, go.
            while let Some((ok, _)) = &pending_old {
                if K::compare(ok, kb.as_ref()) == std::cmp::Ordering::Less {
                    out.remove(K::from_bytes(ok))?;
                    self.changed += 1;
                    pending_old = next_old()?;
                } else {
                    break;
                }
            }
            let same = match &pending_old {
                Some((ok, ov)) if K::compare(ok, kb.as_ref()) == std::cmp::Ordering::Equal => {
                    let same = ov.as_slice() == vb.as_ref();
                    pending_old = next_old()?;
                    same
                }
                _ => false,
            };
            if !same {
                out.insert(key, &value)?;
                self.changed += 1;
            }
        }
        while let Some((ok, _)) = &pending_old {
            out.remove(K::from_bytes(ok))?;
            self.changed += 1;
            pending_old = next_old()?;
        }
        Ok(())
    }
}

/// Rows copied per transaction while a move copies a tenant.
const CHUNK: usize = 20_000;

/// Copies a tenant's rows as one read transaction sees them into an empty range of another
/// database, `CHUNK` rows per transaction (not durable on their own: the move's catch-up
/// commit is).
struct ChunkedCopy<'a> {
    tenant: TenantId,
    from: &'a ReadTransaction,
    target: &'a redb::Database,
}

impl TenantTables for ChunkedCopy<'_> {
    fn table<K: TenantKeyed, V: Portable>(&mut self, def: TableDefinition<K, V>) -> Result<()> {
        let Some(src) = open_or_empty(self.from, def)? else {
            return Ok(());
        };
        let mut rows = src.range(K::lo(self.tenant)..=K::hi(self.tenant))?;
        let mut done = false;
        while !done {
            let mut tx = self.target.begin_write()?;
            tx.set_durability(Durability::None)?;
            {
                let mut out = tx.open_table(def)?;
                for _ in 0..CHUNK {
                    match rows.next() {
                        Some(row) => {
                            let (k, v) = row?;
                            out.insert(k.value(), v.value())?;
                        }
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
            }
            tx.commit()?;
        }
        Ok(())
    }
}

/// A tenant's gate: writers pass it while it is open, the mover closes it and waits for the
/// writers inside to finish.
pub(crate) struct Gate {
    state: Mutex<GateState>,
    turn: Condvar,
}

struct GateState {
    shard: u32,
    closed: bool,
    inside: usize,
}

/// A writer inside a tenant's gate; `shard` is where the tenant's rows are. Dropping it (after
/// the writer's commit) lets a waiting mover on.
pub struct Pass {
    gate: Arc<Gate>,
    pub(crate) shard: u32,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut g = self.gate.state.lock().unwrap_or_else(|p| p.into_inner());
        g.inside = g.inside.saturating_sub(1);
        self.gate.turn.notify_all();
    }
}

impl Gate {
    fn enter(self: &Arc<Self>) -> Pass {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while g.closed {
            g = self.turn.wait(g).unwrap_or_else(|p| p.into_inner());
        }
        g.inside += 1;
        Pass {
            gate: self.clone(),
            shard: g.shard,
        }
    }

    fn close(&self) {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        g.closed = true;
        while g.inside > 0 {
            g = self.turn.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn open(&self, shard: u32) {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        g.shard = shard;
        g.closed = false;
        self.turn.notify_all();
    }

    fn shard(&self) -> u32 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).shard
    }
}

/// The gates of tenants that have been moved since the server started (a scope made before a
/// move still finds the rows), the rule of one move at a time, and the gate every writer
/// passes first: a move drains it once its tenant's gate exists, so no write that looked
/// before the gate existed can land after the copy began.
pub struct Moves {
    gates: Mutex<HashMap<TenantId, Arc<Gate>>>,
    one: Mutex<()>,
    all: Arc<Gate>,
}

impl Default for Moves {
    fn default() -> Self {
        Moves {
            gates: Mutex::new(HashMap::new()),
            one: Mutex::new(()),
            all: new_gate(0),
        }
    }
}

fn new_gate(shard: u32) -> Arc<Gate> {
    Arc::new(Gate {
        state: Mutex::new(GateState {
            shard,
            closed: false,
            inside: 0,
        }),
        turn: Condvar::new(),
    })
}

impl Moves {
    fn gate(&self, t: TenantId) -> Option<Arc<Gate>> {
        self.gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&t)
            .cloned()
    }

    /// Passes the gate every writer passes first. Hold it until the write committed; a writer
    /// holding one must not take another (a move may be waiting for it).
    pub fn enter_all(&self) -> Pass {
        self.all.enter()
    }

    /// Passes the tenant's gate, if it has one (waiting while a move holds it closed). Take it
    /// after [`Moves::enter_all`], and hold both until the write committed.
    pub fn enter(&self, t: TenantId) -> Option<Pass> {
        self.gate(t).map(|g| g.enter())
    }

    /// Where the tenant's rows are now, if it moved since the server started.
    pub fn current(&self, t: TenantId) -> Option<u32> {
        self.gate(t).map(|g| g.shard())
    }

    fn gate_for(&self, t: TenantId, shard: u32) -> Arc<Gate> {
        let g = self
            .gates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(t)
            .or_insert_with(|| new_gate(shard))
            .clone();
        // Writers that looked for this gate before it existed are inside the common gate:
        // wait for them. Every writer after them finds it.
        self.all.close();
        self.all.open(0);
        g
    }
}

/// What a move did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub from: u32,
    pub to: u32,
    /// The tenant's rows in its shard.
    pub rows: u64,
    /// Rows written or removed while the writes were paused.
    pub caught_up: u64,
    /// How long the tenant's writes waited.
    pub paused: Duration,
    pub took: Duration,
}

impl crate::Store {
    /// Moves `tenant` to shard `to` while writers go on (see the module's notes). Refused while
    /// another move runs, for a shard that does not exist, and for the shard it is on.
    pub fn move_tenant(&self, tenant: TenantId, to: u32) -> Result<Moved> {
        let started = Instant::now();
        let _one = self
            .moves
            .one
            .try_lock()
            .map_err(|_| StoreError::MoveRefused(MoveRefusal::Busy))?;
        let target = self
            .shards
            .get(to as usize)
            .cloned()
            .ok_or(StoreError::MoveRefused(MoveRefusal::NoSuchShard))?;
        let from = self.current_shard(tenant)?;
        if from == to {
            return Err(StoreError::MoveRefused(MoveRefusal::SameShard));
        }
        let source = self
            .shards
            .get(from as usize)
            .cloned()
            .ok_or(StoreError::NoPlacement(tenant))?;
        let gate = self.moves.gate_for(tenant, from);

        // Copy while writers go on, a chunk per transaction so the target's other writers
        // wait only a moment at a time; whatever a failed move left there goes first.
        let drop_copy = || {
            // The copy on the target is not the tenant's: remove it.
            if let Ok(tx) = target.db.begin_write()
                && purge(&tx, tenant).is_ok()
            {
                let _ = tx.commit();
            }
        };
        let copied = (|| -> Result<()> {
            let from_tx = source.db.begin_read()?;
            let mut tx = target.db.begin_write()?;
            tx.set_durability(Durability::None)?;
            purge(&tx, tenant)?;
            tx.commit()?;
            visit(&mut ChunkedCopy {
                tenant,
                from: &from_tx,
                target: &target.db,
            })
        })();
        if let Err(e) = copied {
            drop_copy();
            return Err(e);
        }
        let copy = |dst: &WriteTransaction, from_tx: &ReadTransaction| -> Result<(u64, u64)> {
            let to_tx = target.db.begin_read()?;
            let mut sync = Sync {
                tenant,
                from: from_tx,
                to: &to_tx,
                dst,
                changed: 0,
                rows: 0,
            };
            visit(&mut sync)?;
            Ok((sync.rows, sync.changed))
        };

        // Pause, catch up (the chunks above become durable with this commit), switch.
        gate.close();
        let paused_at = Instant::now();
        let switched = (|| -> Result<(u64, u64)> {
            let from_tx = source.db.begin_read()?;
            let mut dst = target.db.begin_write()?;
            dst.set_durability(Durability::Immediate)?;
            let r = copy(&dst, &from_tx)?;
            dst.commit()?;
            self.catalog_write(|c| c.place_tenant(tenant, from, to))?;
            Ok(r)
        })();
        let (rows, caught_up) = match switched {
            Ok(r) => {
                gate.open(to);
                r
            }
            Err(e) => {
                gate.open(from);
                drop_copy();
                return Err(e);
            }
        };
        let paused = paused_at.elapsed();

        // The old rows go; a failure here leaves rows nobody reads, removed by the next move
        // to that shard.
        let tx = source.db.begin_write()?;
        purge(&tx, tenant)?;
        tx.commit()?;
        Ok(Moved {
            from,
            to,
            rows,
            caught_up,
            paused,
            took: started.elapsed(),
        })
    }

    /// The tenant's shard now: its gate's when it moved since start, else the placement.
    pub fn current_shard(&self, tenant: TenantId) -> Result<u32> {
        if let Some(s) = self.moves.current(tenant) {
            return Ok(s);
        }
        self.catalog_read()?
            .placement(tenant)?
            .ok_or(StoreError::NoPlacement(tenant))
    }
}
