//! [`BadInput`]: the error for input the user must fix (a flag, a file, a baseline). The CLI
//! exits with code 2 for it, for [`crate::scenario::ScenarioError`] and for
//! [`crate::evaluate::detect::DetectError`], before anything is
//! run or overwritten. Owns nothing else.

/// Input the user must fix. The message is one line naming the file or flag, the key and the
/// fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Whether an error (anywhere in its chain) is bad input, i.e. exit code 2.
pub fn is_bad_input(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<BadInput>()
            || c.is::<crate::scenario::ScenarioError>()
            || c.is::<crate::evaluate::detect::DetectError>()
            || matches!(
                c.downcast_ref::<crate::trace::TraceError>(),
                Some(
                    crate::trace::TraceError::Version { .. }
                        | crate::trace::TraceError::Format { .. }
                )
            )
    })
}
