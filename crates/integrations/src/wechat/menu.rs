//! The standard menu every township's account carries: 民生监督 with five sub-menus, and
//! 自助查询, each a VIEW item opening that township's page.

use serde_json::{Value, json};

/// One menu entry: the key used to count its visits, its title, and its path under `/t/{code}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuItem {
    pub key: &'static str,
    pub title: &'static str,
    pub path: &'static str,
}

/// The entries in menu order; the first five sit under 民生监督.
pub const MENU_ITEMS: [MenuItem; 6] = [
    MenuItem { key: "subsidies", title: "惠农资金", path: "subsidies" },
    MenuItem { key: "powers", title: "小微权力", path: "powers" },
    MenuItem { key: "disclosures", title: "公示公开", path: "disclosures" },
    MenuItem { key: "services", title: "我要办事", path: "services" },
    MenuItem { key: "messages", title: "留言箱", path: "messages" },
    MenuItem { key: "self_query", title: "自助查询", path: "self-query" },
];

impl MenuItem {
    /// The item's page for one township, under `public_url` (no trailing slash).
    pub fn url(&self, public_url: &str, township_code: &str) -> String {
        format!("{}/t/{township_code}/{}", public_url.trim_end_matches('/'), self.path)
    }

    /// The item a VIEW event's URL points at, if it is one of ours.
    pub fn for_url(url: &str) -> Option<&'static MenuItem> {
        let path = url.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
        MENU_ITEMS.iter().find(|item| {
            path.rsplit_once("/t/").and_then(|(_, rest)| rest.split_once('/')).is_some_and(|(_, p)| p == item.path)
        })
    }

    /// The item with this key.
    pub fn by_key(key: &str) -> Option<&'static MenuItem> {
        MENU_ITEMS.iter().find(|item| item.key == key)
    }
}

/// The menu as the menu-create API takes it.
pub fn standard_menu(public_url: &str, township_code: &str) -> Value {
    let view =
        |item: &MenuItem| json!({"type": "view", "name": item.title, "url": item.url(public_url, township_code)});
    let subs: Vec<Value> = MENU_ITEMS[..5].iter().map(view).collect();
    json!({"button": [{"name": "民生监督", "sub_button": subs}, view(&MENU_ITEMS[5])]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_menu_has_five_sub_menus_and_the_self_query() {
        let m = standard_menu("https://x.example/", "620922100");
        assert_eq!(m["button"][0]["name"], "民生监督");
        assert_eq!(m["button"][0]["sub_button"].as_array().map(Vec::len), Some(5));
        assert_eq!(m["button"][0]["sub_button"][4]["name"], "留言箱");
        assert_eq!(m["button"][1]["url"], "https://x.example/t/620922100/self-query");
    }

    #[test]
    fn a_view_url_maps_back_to_its_item() {
        assert_eq!(MenuItem::for_url("https://x/t/620922100/services?a=1").map(|i| i.key), Some("services"));
        assert_eq!(MenuItem::for_url("https://x/t/620922100/self-query/").map(|i| i.key), Some("self_query"));
        assert_eq!(MenuItem::for_url("https://x/t/620922100/other"), None);
        assert_eq!(MenuItem::for_url("nonsense"), None);
    }
}
