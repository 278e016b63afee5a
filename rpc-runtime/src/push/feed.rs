//! Change feeds, after rohrpost's model mixins: a record store announces every create, update
//! and delete to the group watching the record and to the group watching its collection.

use std::fmt::Display;

use serde::Serialize;

use super::{Hub, PushError};

/// A record whose changes are announced: [`Hub::created`], [`Hub::updated`], [`Hub::deleted`].
///
/// Its collection's group (`COLLECTION`, say `"todos"`) sees every record's changes; a record's
/// own group (`"todos-7"`: [`Record::group`]) sees that record's. Clients watch by joining
/// either, through a method of yours that calls [`Hub::join`].
///
/// ```
/// use rpc_runtime::Record;
///
/// #[derive(serde::Serialize)]
/// struct Todo {
///     id: u64,
///     title: String,
/// }
///
/// impl Record for Todo {
///     const COLLECTION: &'static str = "todos";
///     fn key(&self) -> impl std::fmt::Display {
///         self.id
///     }
/// }
///
/// assert_eq!(Todo::group(7), "todos-7");
/// ```
pub trait Record: Serialize {
    /// The collection: the group that sees every change, and the prefix of each record's group.
    const COLLECTION: &'static str;

    /// The method of the change notifications.
    const METHOD: &'static str = "change";

    /// What tells this record from the others in its collection.
    fn key(&self) -> impl Display;

    /// The group watching one record: `COLLECTION-KEY`.
    fn group(key: impl Display) -> String {
        format!("{}-{key}", Self::COLLECTION)
    }
}

/// What happened to a record; its `type` in the notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// `"create"`
    Create,
    /// `"update"`
    Update,
    /// `"delete"`
    Delete,
}

/// `{"type": "update", "group": "todos-7", "object": {...}}`, as rohrpost sends it.
#[derive(Serialize)]
struct Notice<'a, R> {
    #[serde(rename = "type")]
    change: Change,
    group: &'a str,
    object: &'a R,
}

impl Hub {
    /// Tells the record's group and its collection's group that `record` changed: each gets
    /// `{"type": CHANGE, "group": GROUP, "object": RECORD}` as the params of a `R::METHOD`
    /// notification, on every process with a broker. Returns how many connections of this
    /// process it was queued for.
    pub fn changed<R: Record>(&self, change: Change, record: &R) -> Result<usize, PushError> {
        let mut reached = 0;
        for group in [R::group(record.key()).as_str(), R::COLLECTION] {
            let notice = Notice {
                change,
                group,
                object: record,
            };
            reached += self.notify_group(group, R::METHOD, notice)?;
        }
        Ok(reached)
    }

    /// [`changed`](Self::changed) with [`Change::Create`].
    pub fn created<R: Record>(&self, record: &R) -> Result<usize, PushError> {
        self.changed(Change::Create, record)
    }

    /// [`changed`](Self::changed) with [`Change::Update`].
    pub fn updated<R: Record>(&self, record: &R) -> Result<usize, PushError> {
        self.changed(Change::Update, record)
    }

    /// [`changed`](Self::changed) with [`Change::Delete`]: `record` is what was deleted.
    pub fn deleted<R: Record>(&self, record: &R) -> Result<usize, PushError> {
        self.changed(Change::Delete, record)
    }
}
