//! Shares and opens by the client's own numbers, with the ids the server gave on the current
//! connection; on a new one they are connected and reclaimed again (MS-SMB2 3.2.4.4: DH2C with
//! the CreateGuid and lease, else the file opened again by name, as cifs.ko does); and the
//! leases held, whose breaks are acknowledged at once (nothing is cached under them).

use super::flights::Internal;
use super::request::{OpenSlot, OpenSpec, Request, Target, TreeSlot};
use crate::error::Error;
use keyless_smb::control::FileId;
use keyless_smb::create::{
    CreateContext, CreateRequest, CreateResponse, Disposition, DurableHandleReconnectV2, DurableHandleV2, OplockLevel,
    context_name, durable_flags,
};
use keyless_smb::oplock::{Break, LeaseBreakAck};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

struct Tree {
    share: String,
    /// The server's TreeId on this connection (`None`: to connect again).
    id: Option<u32>,
    /// A DFS share: its CREATEs carry SMB2_FLAGS_DFS_OPERATIONS (MS-SMB2 3.2.4.3).
    dfs: bool,
}

struct Open {
    tree: TreeSlot,
    /// The server's FileId (on the last connection, until reclaimed).
    file_id: FileId,
    /// Whether `file_id` is valid on this connection.
    live: bool,
    spec: OpenSpec,
    /// The server made it durable.
    durable: bool,
    /// It could not be reclaimed nor opened again: why.
    lost: Option<Arc<Error>>,
}

#[derive(Default)]
pub(crate) struct Shares {
    trees: BTreeMap<u32, Tree>,
    opens: BTreeMap<u32, Open>,
    /// Leases held, by key: the open holding each.
    leases: HashMap<[u8; 16], OpenSlot>,
    next: u32,
}

impl Shares {
    /// The TreeId and FileId a request on `target` carries now.
    ///
    /// # Errors
    /// The open was lost in a reconnection, or is not restored yet.
    pub(crate) fn ids(&self, target: Target) -> Result<(u32, Option<FileId>), Error> {
        let tree = |slot: TreeSlot| self.trees.get(&slot.0).and_then(|t| t.id).ok_or(Error::Closed);
        match target {
            Target::Session => Ok((0, None)),
            Target::Tree(t) => Ok((tree(t)?, None)),
            Target::Open(o) => {
                let open = self.opens.get(&o.0).ok_or(Error::Closed)?;
                if let Some(cause) = &open.lost {
                    return Err(Error::OpenLost { path: open.spec.path.clone(), cause: cause.clone() });
                }
                if !open.live {
                    return Err(Error::Closed);
                }
                Ok((tree(open.tree)?, Some(open.file_id)))
            }
        }
    }

    /// The share `target` is on.
    pub(crate) fn tree_of(&self, target: Target) -> Option<TreeSlot> {
        match target {
            Target::Session => None,
            Target::Tree(t) => Some(t),
            Target::Open(o) => self.opens.get(&o.0).map(|o| o.tree),
        }
    }

    fn slot(&mut self) -> u32 {
        self.next += 1;
        self.next
    }

    /// A share connected by a caller.
    pub(crate) fn add_tree(&mut self, share: String, id: u32, dfs: bool) -> TreeSlot {
        let slot = self.slot();
        self.trees.insert(slot, Tree { share, id: Some(id), dfs });
        TreeSlot(slot)
    }

    /// Whether `target` is on a DFS share.
    pub(crate) fn is_dfs(&self, target: Target) -> bool {
        self.tree_of(target).and_then(|t| self.trees.get(&t.0)).is_some_and(|t| t.dfs)
    }

    /// A share connected again on a new connection.
    pub(crate) fn tree_connected(&mut self, slot: TreeSlot, id: u32) {
        if let Some(t) = self.trees.get_mut(&slot.0) {
            t.id = Some(id);
        }
    }

    /// A share disconnected (or that could not be connected again): its opens go with it.
    pub(crate) fn forget_tree(&mut self, slot: TreeSlot) {
        self.trees.remove(&slot.0);
        let gone: Vec<u32> = self.opens.iter().filter(|(_, o)| o.tree == slot).map(|(s, _)| *s).collect();
        for s in gone {
            self.forget_open(OpenSlot(s));
        }
    }

    /// An open a caller's CREATE made.
    pub(crate) fn add_open(&mut self, tree: TreeSlot, response: &CreateResponse<'_>, spec: OpenSpec) -> OpenSlot {
        let slot = OpenSlot(self.slot());
        let durable = spec.durable.is_some() && is_durable(response);
        if let Some(d) = &spec.durable
            && response.oplock_level == OplockLevel::LEASE
            && response.context(context_name::LEASE).is_some()
        {
            self.leases.insert(d.lease.key, slot);
        }
        let open = Open { tree, file_id: response.file_id, live: true, spec, durable, lost: None };
        self.opens.insert(slot.0, open);
        slot
    }

    /// An open closed.
    pub(crate) fn forget_open(&mut self, slot: OpenSlot) {
        if let Some(o) = self.opens.remove(&slot.0)
            && let Some(d) = o.spec.durable
        {
            self.leases.remove(&d.lease.key);
        }
    }

    /// The connection dropped: every share and open is to be restored on the next one; an
    /// open that is not to be opened again is lost with `cause`.
    pub(crate) fn connection_lost(&mut self, cause: &Arc<Error>) {
        for t in self.trees.values_mut() {
            t.id = None;
        }
        for o in self.opens.values_mut() {
            o.live = false;
            if !o.spec.reopen && !o.durable && o.lost.is_none() {
                o.lost = Some(Arc::new(Error::Interrupted(cause.clone())));
            }
        }
    }

    /// Shares to connect on a new connection.
    pub(crate) fn trees_to_connect(&self) -> Vec<(TreeSlot, String)> {
        self.trees.iter().filter(|(_, t)| t.id.is_none()).map(|(s, t)| (TreeSlot(*s), t.share.clone())).collect()
    }

    /// Opens to reclaim, once their shares are connected.
    pub(crate) fn opens_to_reclaim(&self) -> Vec<OpenSlot> {
        self.opens
            .iter()
            .filter(|(_, o)| !o.live && o.lost.is_none())
            .filter(|(_, o)| self.trees.get(&o.tree.0).is_some_and(|t| t.id.is_some()))
            .map(|(s, _)| OpenSlot(*s))
            .collect()
    }

    /// The CREATE that reclaims `slot`: DH2C with its CreateGuid and lease, or (`reopen`
    /// given a fresh CreateGuid) the file opened again by name, never created nor truncated.
    /// A reopen asks for the open's own lease again (with a new DH2Q), as cifs.ko does: no
    /// break is due to a lease the client holds. A leaseless reopen waits for one: smbd 4.17
    /// leaves a refused reclaim's share entry and lease behind, owned by the new connection's
    /// process with no file open there, and defers conflicting opens ~30 s for a break that
    /// nobody answers.
    pub(crate) fn reclaim_request(
        &mut self,
        slot: OpenSlot,
        reopen: Option<[u8; 16]>,
    ) -> Option<Result<(Request, Internal), Error>> {
        let open = self.opens.get_mut(&slot.0)?;
        let durable = reopen.is_none() && open.durable;
        if let (Some(guid), Some(d)) = (reopen, &mut open.spec.durable) {
            d.create_guid = guid;
        }
        let spec = &open.spec;
        let mut req = CreateRequest {
            impersonation_level: 2,
            desired_access: spec.desired_access,
            share_access: spec.share_access,
            create_disposition: Disposition::OPEN,
            create_options: spec.create_options,
            name: spec.path.clone(),
            ..Default::default()
        };
        let lease;
        let handle;
        if let Some(d) = &spec.durable
            && (durable || reopen.is_some())
        {
            lease = d.lease.to_bytes();
            let flags = if d.persistent { durable_flags::PERSISTENT } else { 0 };
            let (name, data) = if durable {
                let dh2c = DurableHandleReconnectV2 { file_id: open.file_id, create_guid: d.create_guid, flags };
                (context_name::DURABLE_HANDLE_RECONNECT_V2, dh2c.to_bytes().to_vec())
            } else {
                let dh2q = DurableHandleV2 { timeout: 0, flags, create_guid: d.create_guid };
                (context_name::DURABLE_HANDLE_V2, dh2q.request_bytes().to_vec())
            };
            handle = data;
            req.oplock_level = OplockLevel::LEASE;
            req.contexts = vec![CreateContext::new(context_name::LEASE, &lease), CreateContext::new(name, &handle)];
        }
        let internal = Internal::Reclaim { slot, durable };
        Some(Request::new(&req, Target::Tree(open.tree)).map(|r| (r, internal)))
    }

    /// A reclaim answered: the new FileId, or why it failed.
    pub(crate) fn reclaimed(&mut self, slot: OpenSlot, result: Result<&CreateResponse<'_>, Arc<Error>>) {
        let Some(o) = self.opens.get_mut(&slot.0) else { return };
        match result {
            Ok(r) => {
                o.file_id = r.file_id;
                o.live = true;
                o.durable = o.spec.durable.is_some() && is_durable(r);
            }
            Err(cause) => {
                o.lost = Some(cause);
            }
        }
    }

    /// Whether `slot` is to be opened again by name when its reclaim fails.
    pub(crate) fn reopens(&self, slot: OpenSlot) -> bool {
        self.opens.get(&slot.0).is_some_and(|o| o.spec.reopen)
    }

    /// The name of share `slot`, for notices.
    pub(crate) fn share(&self, slot: TreeSlot) -> Option<String> {
        self.trees.get(&slot.0).map(|t| t.share.clone())
    }

    /// The path of `slot`, for errors.
    pub(crate) fn path(&self, slot: OpenSlot) -> String {
        self.opens.get(&slot.0).map(|o| o.spec.path.clone()).unwrap_or_default()
    }

    /// A break notification: the acknowledgment to send at once, when the server wants one
    /// (a lease break with ACK_REQUIRED, for a lease we hold).
    pub(crate) fn on_break(&self, message: &[u8]) -> Result<Option<Request>, Error> {
        let Break::LeaseNotification(n) = Break::parse(message)? else { return Ok(None) };
        let Some(open) = self.leases.get(&n.lease_key).and_then(|s| self.opens.get(&s.0)) else { return Ok(None) };
        if n.flags & 1 == 0 {
            return Ok(None); // no acknowledgment wanted
        }
        let ack = LeaseBreakAck { flags: 0, lease_key: n.lease_key, state: n.new_state };
        Request::new(&ack, Target::Tree(open.tree)).map(Some)
    }
}

/// Whether the server made an open durable (its answer carries DH2Q's or DH2C's context).
fn is_durable(response: &CreateResponse<'_>) -> bool {
    response.context(context_name::DURABLE_HANDLE_V2).is_some()
        || response.context(context_name::DURABLE_HANDLE_RECONNECT_V2).is_some()
}
