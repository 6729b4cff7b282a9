//! The public pages and operations endpoints.

use crate::helpers::{TestApp, both_backends};

both_backends!(the_county_page_lists_townships_and_each_township_has_the_menu, |app: TestApp| async move {
    let client = TestApp::client();
    let county = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(county.status(), 200);
    let headers = county.headers().clone();
    let html = county.text().await.unwrap();
    assert!(html.contains("瓜州县") && html.contains("渊泉镇") && html.contains("柳园镇"));
    assert!(html.len() < 30 * 1024, "page is {} bytes", html.len());
    assert!(
        html.contains("<meta name=\"description\" content=\"村级小微权力监督平台") && html.contains("rel=\"icon\"")
    );
    assert!(!html.contains("http://") && !html.contains("https://"), "no external resources");
    let csp = headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    assert!(headers.get("referrer-policy").is_some());
    assert!(headers.get("x-request-id").is_some());

    let township = client.get(app.url("/t/620922100")).send().await.unwrap().text().await.unwrap();
    for entry in ["惠农资金", "小微权力", "公示公开", "我要办事", "留言箱", "自助查询"] {
        assert!(township.contains(entry), "menu lacks {entry}");
    }
    assert!(township.contains("南岔村"), "villages are listed by their common name");

    let section = client.get(app.url("/t/620922100/subsidies")).send().await.unwrap();
    assert_eq!(section.status(), 200);
    assert!(section.text().await.unwrap().contains("请选择上面的补贴项目"));
    let empty = client.get(app.url("/t/620922100/services")).send().await.unwrap();
    assert!(empty.text().await.unwrap().contains("暂无服务事项"));
    let messages = client.get(app.url("/t/620922100/messages")).send().await.unwrap();
    assert!(messages.text().await.unwrap().contains("暂无公开答复"));
    let village = client.get(app.url("/t/620922100/v/620922100200")).send().await.unwrap();
    assert_eq!(village.status(), 200);
    let in_village =
        client.get(app.url("/t/620922100/powers?village=620922100200")).send().await.unwrap().text().await.unwrap();
    assert!(in_village.contains("南岔村"));
});

both_backends!(unknown_places_are_a_chinese_not_found_page_never_a_500, |app: TestApp| async move {
    let client = TestApp::client();
    for path in [
        "/t/999999999",
        "/t/620922100200",
        "/t/620922100/nonsense",
        "/t/620922101/v/620922100200",
        "/t/620922100/powers?village=620923100200",
        "/no/such/page",
        "/static/missing.css",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("页面不存在") && html.contains("请求编号"), "{path}");
    }
    let json = client.get(app.url("/no/such")).header("accept", "application/json").send().await.unwrap();
    assert_eq!(json.status(), 404);
    let body: serde_json::Value = serde_json::from_str(&json.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains("不存在"));
});

both_backends!(operations_endpoints_answer, |app: TestApp| async move {
    let client = TestApp::client();
    assert_eq!(client.get(app.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
    assert_eq!(client.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    client.get(app.url("/t/620922100")).send().await.unwrap();
    let metrics = client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total") && metrics.contains("route=\"/t/{township}\""), "{metrics}");
    let css = client.get(app.url("/static/app.css")).send().await.unwrap();
    assert!(css.headers().get("cache-control").unwrap().to_str().unwrap().contains("max-age"));
    // Browsers ask for /favicon.ico whatever the page links; it is there, not a logged 404.
    let icon = client.get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!((icon.status().as_u16(), icon.headers()["content-type"].to_str().unwrap()), (200, "image/svg+xml"));
    let gz = client.get(app.url("/")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.headers().get("content-encoding").map(|v| v.to_str().unwrap().to_owned()), Some("gzip".into()));
});
