//! Walking every page of a listing, in both of the API's pagination styles.

use crate::{
    client::Client,
    error::Result,
    request::{NextTokenPage, NextTokenRequest, NumberedPage, NumberedRequest},
};

/// Upper bound on pages fetched by one walk, so that a server that never ends a listing cannot loop us forever.
pub const MAX_PAGES: u32 = 10_000;

impl Client {
    /// Fetches every page of a `NextToken`-style listing, starting from `request`'s first page.
    pub async fn collect_next_token<R>(&self, mut request: R) -> Result<Vec<<R::Response as NextTokenPage>::Item>>
    where
        R: NextTokenRequest,
    {
        let mut items = Vec::new();
        request.set_next_token(None);
        for _ in 0..MAX_PAGES {
            let page = self.call(&request).await?;
            let next = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            items.extend(page.into_items());
            match next {
                Some(token) => request.set_next_token(Some(token)),
                None => break,
            }
        }
        Ok(items)
    }

    /// Fetches every page of a `PageNumber`/`PageSize` listing, with the largest page size the action accepts.
    pub async fn collect_pages<R>(&self, mut request: R) -> Result<Vec<<R::Response as NumberedPage>::Item>>
    where
        R: NumberedRequest,
    {
        let mut items = Vec::new();
        for number in 1..=MAX_PAGES {
            request.set_page(number, R::MAX_PAGE_SIZE);
            let page = self.call(&request).await?;
            let total = page.total_count();
            let got = page.into_items();
            let short_page = (got.len() as u32) < R::MAX_PAGE_SIZE;
            items.extend(got);
            if short_page || items.len() as u64 >= total {
                break;
            }
        }
        Ok(items)
    }
}
