//! A tenant's media files, campaigns, their runs and each run's deliveries.

use redb::{ReadableTable, WriteTransaction};

use crate::error::{Result, StoreError};
use crate::ids::{CampaignId, ChatId, Day, MediaId};
use crate::record::RecBytes;
use crate::records::{CampaignRec, DeliveryRec, DeliveryStateRec, MediaRec, RunRec, RunStatusRec};
use crate::shard::TenantShard;
use crate::tables::shard::{CAMPAIGNS, DELIVERIES, MEDIA, PENDING, POSTS_BY_DAY, RUNS, SENDS};
use crate::tx::Reader;

/// Sequence kinds in `tenant_seq` (templates use 1).
const SEQ_MEDIA: u8 = 2;
const SEQ_CAMPAIGN: u8 = 3;

/// A delivery's place: campaign, run number, chat.
pub type DeliveryKey = (CampaignId, u32, ChatId);

impl<T: Reader> TenantShard<T> {
    pub fn media_files(&self) -> Result<Vec<(MediaId, MediaRec)>> {
        let t = self.tx.table(MEDIA)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, MediaId::MIN)..=(self.tenant, MediaId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn media(&self, id: MediaId) -> Result<Option<MediaRec>> {
        let t = self.tx.table(MEDIA)?;
        let v = t.get((self.tenant, id))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn campaigns(&self) -> Result<Vec<(CampaignId, CampaignRec)>> {
        let t = self.tx.table(CAMPAIGNS)?;
        let mut out = Vec::new();
        for row in t.range((self.tenant, CampaignId::MIN)..=(self.tenant, CampaignId::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn campaign(&self, id: CampaignId) -> Result<Option<CampaignRec>> {
        let t = self.tx.table(CAMPAIGNS)?;
        let v = t.get((self.tenant, id))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    /// A campaign's runs, newest first, at most `limit`.
    pub fn runs(&self, id: CampaignId, limit: usize) -> Result<Vec<(u32, RunRec)>> {
        let t = self.tx.table(RUNS)?;
        let mut out = Vec::new();
        for row in t
            .range((self.tenant, id, 0)..=(self.tenant, id, u32::MAX))?
            .rev()
            .take(limit)
        {
            let (k, v) = row?;
            out.push((k.value().2, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn run(&self, id: CampaignId, run: u32) -> Result<Option<RunRec>> {
        let t = self.tx.table(RUNS)?;
        let v = t.get((self.tenant, id, run))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    pub fn deliveries(&self, id: CampaignId, run: u32) -> Result<Vec<(ChatId, DeliveryRec)>> {
        let t = self.tx.table(DELIVERIES)?;
        let mut out = Vec::new();
        for row in
            t.range((self.tenant, id, run, ChatId::MIN)..=(self.tenant, id, run, ChatId::MAX))?
        {
            let (k, v) = row?;
            out.push((k.value().3, v.value().decode()?));
        }
        Ok(out)
    }

    pub fn delivery(&self, key: DeliveryKey) -> Result<Option<DeliveryRec>> {
        let t = self.tx.table(DELIVERIES)?;
        let v = t.get((self.tenant, key.0, key.1, key.2))?;
        Ok(match v {
            Some(v) => Some(v.value().decode()?),
            None => None,
        })
    }

    /// Every delivery of the tenant still waiting to be sent, oldest campaign and run first.
    pub fn pending_deliveries(&self) -> Result<Vec<DeliveryKey>> {
        let t = self.tx.table(PENDING)?;
        let mut out = Vec::new();
        for row in t.range(
            (self.tenant, CampaignId::MIN, 0, ChatId::MIN)
                ..=(self.tenant, CampaignId::MAX, u32::MAX, ChatId::MAX),
        )? {
            let (k, _) = row?;
            let (_, c, r, chat) = k.value();
            out.push((c, r, chat));
        }
        Ok(out)
    }

    /// Campaign posts handed out on a UTC day.
    pub fn sends_on(&self, day: Day) -> Result<u64> {
        let t = self.tx.table(SENDS)?;
        Ok(t.get((self.tenant, day))?.map_or(0, |v| v.value()))
    }
}

impl TenantShard<WriteTransaction> {
    pub(crate) fn next_seq(&mut self, kind: u8) -> Result<u64> {
        let mut seq = self.tx.open_table(crate::tables::shard::TENANT_SEQ)?;
        let next = seq.get((self.tenant, kind))?.map_or(0, |v| v.value()) + 1;
        seq.insert((self.tenant, kind), next)?;
        Ok(next)
    }

    pub fn insert_media(&mut self, rec: &MediaRec) -> Result<MediaId> {
        let id = MediaId(self.next_seq(SEQ_MEDIA)?);
        self.tx
            .open_table(MEDIA)?
            .insert((self.tenant, id), RecBytes::encode(rec)?)?;
        Ok(id)
    }

    pub fn delete_media(&mut self, id: MediaId) -> Result<bool> {
        Ok(self
            .tx
            .open_table(MEDIA)?
            .remove((self.tenant, id))?
            .is_some())
    }

    pub fn insert_campaign(&mut self, rec: &CampaignRec) -> Result<CampaignId> {
        let id = CampaignId(self.next_seq(SEQ_CAMPAIGN)?);
        self.put_campaign(id, rec)?;
        Ok(id)
    }

    pub fn put_campaign(&mut self, id: CampaignId, rec: &CampaignRec) -> Result<()> {
        self.tx
            .open_table(CAMPAIGNS)?
            .insert((self.tenant, id), RecBytes::encode(rec)?)?;
        Ok(())
    }

    /// Removes a campaign with its runs and deliveries; false when there was none.
    pub fn delete_campaign(&mut self, id: CampaignId) -> Result<bool> {
        let had = self
            .tx
            .open_table(CAMPAIGNS)?
            .remove((self.tenant, id))?
            .is_some();
        self.tx.open_table(RUNS)?.retain_in(
            (self.tenant, id, 0)..=(self.tenant, id, u32::MAX),
            |_, _| false,
        )?;
        let all = (self.tenant, id, 0, ChatId::MIN)..=(self.tenant, id, u32::MAX, ChatId::MAX);
        self.tx
            .open_table(DELIVERIES)?
            .retain_in(all.clone(), |_, _| false)?;
        self.tx.open_table(PENDING)?.retain_in(all, |_, _| false)?;
        Ok(had)
    }

    /// Records a run and, before anything is sent, a pending delivery per target.
    pub fn start_run(
        &mut self,
        id: CampaignId,
        run: u32,
        rec: &RunRec,
        targets: &[ChatId],
        now: i64,
    ) -> Result<()> {
        self.tx
            .open_table(RUNS)?
            .insert((self.tenant, id, run), RecBytes::encode(rec)?)?;
        let pending = RecBytes::encode(&DeliveryRec {
            state: DeliveryStateRec::Pending,
            created_at: now,
        })?;
        let mut d = self.tx.open_table(DELIVERIES)?;
        let mut p = self.tx.open_table(PENDING)?;
        for chat in targets {
            d.insert((self.tenant, id, run, *chat), &pending)?;
            p.insert((self.tenant, id, run, *chat), ())?;
        }
        Ok(())
    }

    pub fn put_run(&mut self, id: CampaignId, run: u32, rec: &RunRec) -> Result<()> {
        self.tx
            .open_table(RUNS)?
            .insert((self.tenant, id, run), RecBytes::encode(rec)?)?;
        Ok(())
    }

    /// Settles a pending delivery and counts it in its run; a run with nothing left pending
    /// is done. Returns the run as it now stands, or `None` when the delivery was not
    /// pending (a repeated or stray result changes nothing).
    pub fn settle_delivery(
        &mut self,
        key: DeliveryKey,
        state: DeliveryStateRec,
        now: i64,
    ) -> Result<Option<RunRec>> {
        let (id, run, chat) = key;
        let was_pending = self
            .tx
            .open_table(PENDING)?
            .remove((self.tenant, id, run, chat))?
            .is_some();
        if !was_pending || matches!(state, DeliveryStateRec::Pending) {
            return Ok(None);
        }
        let Some(mut r) = self.run(id, run)? else {
            return Err(StoreError::NotFound);
        };
        match &state {
            DeliveryStateRec::Sent { .. } => r.sent += 1,
            DeliveryStateRec::Failed { .. } => r.failed += 1,
            DeliveryStateRec::Skipped { .. } => r.skipped += 1,
            DeliveryStateRec::Pending => {}
        }
        let (sent, failed) = match &state {
            DeliveryStateRec::Sent { .. } => (1, 0),
            DeliveryStateRec::Failed { .. } => (0, 1),
            _ => (0, 0),
        };
        if sent + failed > 0 {
            let day = Day::utc(now);
            let mut t = self.tx.open_table(POSTS_BY_DAY)?;
            let (s0, f0) = t.get(day)?.map_or((0, 0), |v| v.value());
            t.insert(day, (s0 + sent, f0 + failed))?;
        }
        let created_at = self.delivery(key)?.map_or(now, |d| d.created_at);
        self.tx.open_table(DELIVERIES)?.insert(
            (self.tenant, id, run, chat),
            RecBytes::encode(&DeliveryRec { state, created_at })?,
        )?;
        let left = self
            .tx
            .open_table(PENDING)?
            .range((self.tenant, id, run, ChatId::MIN)..=(self.tenant, id, run, ChatId::MAX))?
            .next()
            .is_some();
        if !left {
            r.status = RunStatusRec::Done;
            r.finished_at = Some(now);
        }
        self.put_run(id, run, &r)?;
        Ok(Some(r))
    }

    pub fn add_sends(&mut self, day: Day, n: u64) -> Result<u64> {
        let mut t = self.tx.open_table(SENDS)?;
        let total = t.get((self.tenant, day))?.map_or(0, |v| v.value()) + n;
        t.insert((self.tenant, day), total)?;
        Ok(total)
    }
}

/// Active campaigns with a next run, across every tenant of a shard (loaded at start).
pub(crate) fn campaign_timers(
    tx: &redb::ReadTransaction,
) -> Result<Vec<(crate::ids::TenantId, CampaignId, i64)>> {
    let t = tx.open_table(CAMPAIGNS)?;
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        let (tenant, id) = k.value();
        let rec: CampaignRec = v.value().decode()?;
        if rec.state == crate::records::CampaignStateRec::Active
            && let Some(next) = rec.next_run
        {
            out.push((tenant, id, next));
        }
    }
    Ok(out)
}
