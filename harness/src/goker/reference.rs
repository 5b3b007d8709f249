//! What others published about these programs, to set our figures beside: GoBench's list of
//! GoKer blocking bugs and the detection rates reported for goleak and for the GC-reachability
//! detector behind the `goroutineleak` profile.
//!
//! Owns these constants and the comparison of GoBench's list with the cases found. Must not
//! read files or run anything.

use crate::goker::cases::Discovery;

/// Where [`GOBENCH_GOKER_BLOCKING`] comes from.
pub const GOBENCH_LIST_SOURCE: &str = "github.com/timmyyuan/gobench, gobench/configures/goker/blocking.json (commit b9eac4dc18cc5328e8ff57a3fa677975027fd73f)";

/// GoBench's 68 GoKer blocking bugs, as named in [`GOBENCH_LIST_SOURCE`] (project_issue).
/// Go's kernels are the files `goker/<project><issue>.go`, so the two lists meet on that id.
pub const GOBENCH_GOKER_BLOCKING: [&str; 68] = [
    "cockroach_10214",
    "cockroach_1055",
    "cockroach_10790",
    "cockroach_13197",
    "cockroach_13755",
    "cockroach_1462",
    "cockroach_16167",
    "cockroach_18101",
    "cockroach_2448",
    "cockroach_24808",
    "cockroach_25456",
    "cockroach_35073",
    "cockroach_35931",
    "cockroach_3710",
    "cockroach_584",
    "cockroach_6181",
    "cockroach_7504",
    "cockroach_9935",
    "etcd_10492",
    "etcd_5509",
    "etcd_6708",
    "etcd_6857",
    "etcd_6873",
    "etcd_7443",
    "etcd_7492",
    "etcd_7902",
    "grpc_1275",
    "grpc_1353",
    "grpc_1424",
    "grpc_1460",
    "grpc_3017",
    "grpc_660",
    "grpc_795",
    "grpc_862",
    "hugo_3251",
    "hugo_5379",
    "istio_16224",
    "istio_17860",
    "istio_18454",
    "kubernetes_10182",
    "kubernetes_11298",
    "kubernetes_13135",
    "kubernetes_1321",
    "kubernetes_25331",
    "kubernetes_26980",
    "kubernetes_30872",
    "kubernetes_38669",
    "kubernetes_5316",
    "kubernetes_58107",
    "kubernetes_62464",
    "kubernetes_6632",
    "kubernetes_70277",
    "moby_17176",
    "moby_21233",
    "moby_25384",
    "moby_27782",
    "moby_28462",
    "moby_29733",
    "moby_30408",
    "moby_33293",
    "moby_33781",
    "moby_36114",
    "moby_4395",
    "moby_4951",
    "moby_7559",
    "serving_2137",
    "syncthing_4829",
    "syncthing_5795",
];

/// A published detection figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Published {
    /// Our detector it corresponds to.
    pub detector: &'static str,
    pub what: &'static str,
    pub recall: f64,
    pub precision: Option<f64>,
    pub source: &'static str,
}

/// The published figures the report sets beside ours.
pub const PUBLISHED: [Published; 2] = [
    Published {
        detector: "goleak",
        what: "found 43 of GoBench's 68 GoKer blocking bugs",
        recall: 43.0 / 68.0,
        precision: Some(1.0),
        source: "GoBench: A Benchmark Suite of Real-World Go Concurrency Bugs, CGO 2021",
    },
    Published {
        detector: "goroutineleak-profile",
        what: "about 94% of the leaks of its microbenchmarks (GC-reachability detection, Golf)",
        recall: 0.94,
        precision: None,
        source: "Golf, ASPLOS 2025",
    },
];

/// How our set differs from GoBench's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetDifference {
    /// GoBench kernels Go ships and tests.
    pub present: Vec<String>,
    /// GoBench kernels Go ships but its test does not list (no expected answer).
    pub untested: Vec<String>,
    /// GoBench kernels Go does not ship.
    pub absent: Vec<String>,
}

/// Compares GoBench's list with the kernels found (by their registering file's name).
pub fn compare(d: &Discovery) -> SetDifference {
    let kernel_of_file = |file: &str| -> Option<String> {
        let stem = file.rsplit('/').next()?.strip_suffix(".go")?;
        let i = stem.find(|c: char| c.is_ascii_digit())?;
        Some(format!("{}_{}", &stem[..i], &stem[i..]))
    };
    let tested: Vec<String> = d.cases.iter().filter_map(|c| c.kernel.clone()).collect();
    let untested: Vec<String> = d
        .untested
        .iter()
        .filter_map(|r| kernel_of_file(&r.file))
        .collect();
    let mut out = SetDifference {
        present: vec![],
        untested: vec![],
        absent: vec![],
    };
    for k in GOBENCH_GOKER_BLOCKING {
        let k = k.to_string();
        if tested.contains(&k) {
            out.present.push(k);
        } else if untested.contains(&k) {
            out.untested.push(k);
        } else {
            out.absent.push(k);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goker::cases::{Kind, Registration};
    use crate::goker::plan::tests::{case, discovery};

    #[test]
    fn the_list_has_68_distinct_kernels() {
        let mut v = GOBENCH_GOKER_BLOCKING.to_vec();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), 68);
    }

    #[test]
    fn compares_by_kernel_id() {
        let mut c = case("Moby25348", "moby", Kind::Strict, true);
        c.kernel = Some("moby_25384".into()); // the file's id, not the (misspelt) case name
        let mut d = discovery(vec![c]);
        d.untested = vec![Registration {
            name: "Kubernetes1321".into(),
            package: "goker".into(),
            file: "goker/kubernetes1321.go".into(),
        }];
        let s = compare(&d);
        assert_eq!(s.present, vec!["moby_25384"]);
        assert_eq!(s.untested, vec!["kubernetes_1321"]);
        assert_eq!(s.absent.len(), 66);
    }
}
