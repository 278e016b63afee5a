//! A group's members as Redis keeps them: a hash of connection id to the member's node and
//! what it joined with, read back filtered by the live nodes.

use std::collections::{HashMap, HashSet};

use redis::RedisResult;

use super::shards::Shards;
use crate::push::Presence;

/// The members of a group on every live process, in order of id.
pub(super) async fn presence(
    shards: &Shards,
    key: &str,
    nodes: &str,
    own: u64,
) -> RedisResult<Vec<Presence>> {
    let members: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(key)
        .query_async(&mut shards.conn(key))
        .await?;
    let mut of: Vec<&str> = members.values().map(|value| member_of(value).0).collect();
    of.sort_unstable();
    of.dedup();
    let scores: Vec<Option<f64>> = if of.is_empty() {
        Vec::new()
    } else {
        redis::cmd("ZMSCORE")
            .arg(nodes)
            .arg(&of)
            .query_async(&mut shards.conn(nodes))
            .await?
    };
    let own = format!("{own:x}");
    let live: HashSet<&str> = of
        .iter()
        .zip(scores)
        .filter(|(node, score)| score.is_some() || **node == own)
        .map(|(node, _)| *node)
        .collect();
    let mut present: Vec<Presence> = members
        .iter()
        .filter_map(|(id, value)| {
            let (node, info) = member_of(value);
            live.contains(node)
                .then(|| Some(Presence::new(id.parse().ok()?, info)))
                .flatten()
        })
        .collect();
    present.sort_unstable_by_key(|member| member.id);
    Ok(present)
}

/// A member as its group's hash keeps it: its node, then what it joined with, if anything.
pub(super) fn member_value(node: &str, info: Option<&str>) -> String {
    match info {
        Some(info) => format!("{node} {info}"),
        None => node.to_owned(),
    }
}

pub(super) fn member_of(value: &str) -> (&str, Option<&str>) {
    match value.split_once(' ') {
        Some((node, info)) => (node, Some(info)),
        None => (value, None),
    }
}
