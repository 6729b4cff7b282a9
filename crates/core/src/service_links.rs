//! 办事直通车: link-out tiles to outside services (the province's 政务服务网, health insurance,
//! bills), kept per county or township by the county admin and shown on 我要办事 and the hall
//! terminals. A tile has a name, an icon from a small fixed set, an http(s) address and one line
//! of description; [`check`] refuses anything else, naming the field.

use thiserror::Error;

/// The icons a tile may carry (the set the stylesheet draws).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Government,
    Health,
    Bills,
    Social,
    Farming,
    Travel,
}

impl Icon {
    pub const ALL: [Icon; 6] = [Self::Government, Self::Health, Self::Bills, Self::Social, Self::Farming, Self::Travel];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Government => "government",
            Self::Health => "health",
            Self::Bills => "bills",
            Self::Social => "social",
            Self::Farming => "farming",
            Self::Travel => "travel",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// What the picker calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Government => "政务大厅",
            Self::Health => "医疗医保",
            Self::Bills => "生活缴费",
            Self::Social => "社保就业",
            Self::Farming => "农业农村",
            Self::Travel => "交通出行",
        }
    }

    /// The glyph shown on the tile.
    pub fn glyph(self) -> &'static str {
        match self {
            Self::Government => "政",
            Self::Health => "医",
            Self::Bills => "缴",
            Self::Social => "社",
            Self::Farming => "农",
            Self::Travel => "行",
        }
    }
}

/// A tile as typed, checked by [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInput<'a> {
    pub name: &'a str,
    pub icon: &'a str,
    pub url: &'a str,
    pub description: &'a str,
}

/// A checked tile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLink {
    pub name: String,
    pub icon: Icon,
    /// An absolute `http` or `https` address with a host, normalised.
    pub url: String,
    pub description: String,
}

pub const MAX_NAME: usize = 20;
pub const MAX_DESCRIPTION: usize = 40;
pub const MAX_URL: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LinkError {
    #[error("名称：请填写（不超过{MAX_NAME}字）")]
    Name,
    #[error("图标：请从列表中选择")]
    Icon,
    #[error("网址：请填写以 https:// 或 http:// 开头的完整网址（不超过{MAX_URL}字符）")]
    Url,
    #[error("说明：请用一句话说明（不超过{MAX_DESCRIPTION}字）")]
    Description,
}

/// Checks a tile: the name and one-line description within their lengths, an icon of the set,
/// and an absolute http(s) address with a host and no credentials in it.
pub fn check(input: &LinkInput<'_>) -> Result<ServiceLink, LinkError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(LinkError::Name);
    }
    let icon = Icon::parse(input.icon.trim()).ok_or(LinkError::Icon)?;
    let raw = input.url.trim();
    if raw.len() > MAX_URL {
        return Err(LinkError::Url);
    }
    let url = url::Url::parse(raw).map_err(|_| LinkError::Url)?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(LinkError::Url);
    }
    let description = input.description.trim();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION || description.contains('\n') {
        return Err(LinkError::Description);
    }
    Ok(ServiceLink { name: name.to_owned(), icon, url: url.to_string(), description: description.to_owned() })
}

crate::stored_code!(Icon);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn input<'a>(url: &'a str) -> LinkInput<'a> {
        LinkInput {
            name: "酒泉政务服务", icon: "government", url, description: "社保、医保、公积金在线办理"
        }
    }

    #[test]
    fn an_https_tile_is_kept_and_normalised() {
        let link = check(&input("https://zwfw.gansu.gov.cn")).unwrap();
        assert_eq!(link.url, "https://zwfw.gansu.gov.cn/");
        assert_eq!(link.icon, Icon::Government);
    }

    #[test]
    fn only_http_and_https_addresses_with_a_host_pass() {
        for bad in [
            "javascript:alert(1)",
            "ftp://example.com/",
            "data:text/html,hi",
            "zwfw.gansu.gov.cn",
            "https://user:pw@example.com/",
            "https://",
            "http://exa mple.cn/",
            "",
        ] {
            assert_eq!(check(&input(bad)), Err(LinkError::Url), "{bad}");
        }
        assert!(check(&input("http://example.com/a?b=1")).is_ok());
    }

    #[test]
    fn each_field_is_named_when_refused() {
        assert_eq!(check(&LinkInput { name: " ", ..input("https://a.cn") }), Err(LinkError::Name));
        assert_eq!(check(&LinkInput { icon: "rocket", ..input("https://a.cn") }), Err(LinkError::Icon));
        assert_eq!(check(&LinkInput { description: "", ..input("https://a.cn") }), Err(LinkError::Description));
        assert_eq!(LinkError::Icon.to_string(), "图标：请从列表中选择");
    }

    #[test]
    fn every_icon_round_trips() {
        for icon in Icon::ALL {
            assert_eq!(Icon::parse(icon.as_str()), Some(icon));
        }
    }

    proptest! {
        #[test]
        fn any_address_is_checked_without_panic(url in "\\PC{0,80}") {
            if let Ok(link) = check(&input(&url)) {
                prop_assert!(link.url.starts_with("https://") || link.url.starts_with("http://"));
            }
        }
    }
}
