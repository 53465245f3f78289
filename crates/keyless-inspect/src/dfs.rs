//! The MS-DFSC referral carried in FSCTL_DFS_GET_REFERRALS(_EX) IOCTLs, as record fields
//! (named after tshark's `smb.dfs.*` where it has them).

use crate::Record;
use keyless_smb::WireError;
use keyless_smb::dfs::{ReferralRequest, ReferralRequestEx, ReferralResponse, Target};
use keyless_smb::ioctl::CtlCode;
use serde_json::{Value, json};

/// A referral request's fields.
pub(crate) fn request(r: &mut Record, ctl_code: CtlCode, input: &[u8]) -> Result<(), WireError> {
    match ctl_code {
        CtlCode::DFS_GET_REFERRALS => {
            let q = ReferralRequest::parse(input)?;
            r.field("dfs_max_referral_level", q.max_level);
            r.field("dfs_request_file_name", q.path);
        }
        CtlCode::DFS_GET_REFERRALS_EX => {
            let q = ReferralRequestEx::parse(input)?;
            r.field("dfs_max_referral_level", q.max_level);
            r.field("dfs_request_file_name", q.path);
            if let Some(site) = q.site {
                r.field("dfs_site_name", site);
            }
        }
        _ => {}
    }
    Ok(())
}

/// A referral response's fields: the header, then each entry.
pub(crate) fn response(r: &mut Record, ctl_code: CtlCode, output: &[u8]) -> Result<(), WireError> {
    if !matches!(ctl_code, CtlCode::DFS_GET_REFERRALS | CtlCode::DFS_GET_REFERRALS_EX) || output.is_empty() {
        return Ok(());
    }
    let a = ReferralResponse::parse(output)?;
    r.field("dfs_path_consumed", a.path_consumed);
    r.field("dfs_num_referrals", a.entries.len());
    r.field("dfs_flags", format!("{:#x}", a.flags));
    let entries: Vec<Value> = a
        .entries
        .iter()
        .map(|e| {
            let mut v = json!({"version": e.version, "server_type": e.server_type, "flags": e.flags, "ttl": e.ttl});
            match &e.target {
                Target::Path { dfs_path, alternate_path, address } => {
                    v["path"] = json!(dfs_path);
                    v["alt_path"] = json!(alternate_path);
                    v["node"] = json!(address);
                }
                Target::NameList { special_name, expanded } => {
                    v["domain_name"] = json!(special_name);
                    v["expanded_names"] = json!(expanded);
                }
            }
            v
        })
        .collect();
    r.field("dfs_referrals", Value::Array(entries));
    Ok(())
}
