//! Paging of list answers: every list the API gives is a page of at most `limit` entries
//! (1 to [`MAX_PAGE`]) after a cursor, in a stable order, with the cursor of the next page
//! when this one is full. A client walks a list by passing each page's `next` as `after`
//! until `next` is absent. Nothing reads more than a page from the store for one answer.

use crate::ServiceError;

/// The most entries one page holds.
pub const MAX_PAGE: i64 = 1000;

/// The page size a request asks for, if it is 1 to [`MAX_PAGE`].
pub(crate) fn checked_limit(limit: i64) -> Result<i64, ServiceError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ServiceError::invalid(format!(
            "limit must be 1 to {MAX_PAGE}"
        )))
    }
}

/// The cursor of the page after `page`: its last entry's, when the page is full (there may be
/// more), none otherwise.
pub(crate) fn next_cursor<T>(
    page: &[T],
    limit: i64,
    cursor: impl FnOnce(&T) -> String,
) -> Option<String> {
    if usize::try_from(limit).is_ok_and(|limit| page.len() >= limit) {
        page.last().map(cursor)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_is_one_to_a_thousand() {
        assert!(checked_limit(0).is_err());
        assert!(checked_limit(-1).is_err());
        assert!(checked_limit(MAX_PAGE + 1).is_err());
        assert_eq!(checked_limit(1).unwrap(), 1);
        assert_eq!(checked_limit(MAX_PAGE).unwrap(), MAX_PAGE);
    }

    #[test]
    fn only_a_full_page_has_a_next() {
        let id = |n: &u32| n.to_string();
        assert_eq!(next_cursor(&[1, 2, 3], 3, id), Some("3".to_owned()));
        assert_eq!(next_cursor(&[1, 2], 3, id), None);
        assert_eq!(next_cursor::<u32>(&[], 3, id), None);
    }
}
