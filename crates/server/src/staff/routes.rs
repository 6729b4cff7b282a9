//! Staff routes declared once. Each area module lists its routes through [`StaffRoutes`], giving
//! every route its permission and scope target in the same line as its handler; the router and
//! the route list ([`super::routes`]) are both derived from those declarations, and the router
//! enforces the permission before the handler runs. Handlers are left with the scope question,
//! which needs the record they load.

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use xiaowei_core::Permission;

use super::{Staff, Target};
use crate::state::AppState;
use crate::web::error::AppError;

/// One staff route and the permission it requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Permission,
    pub target: Target,
}

/// The declarations of one or more areas, each with the handler that serves it.
#[derive(Default)]
pub struct StaffRoutes {
    declared: Vec<(StaffRoute, MethodRouter<AppState>)>,
}

impl StaffRoutes {
    /// Declares a GET route.
    pub fn get<H, T>(self, path: &'static str, permission: Permission, target: Target, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.declare("GET", path, permission, target, get(handler))
    }

    /// Declares a POST route.
    pub fn post<H, T>(self, path: &'static str, permission: Permission, target: Target, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.declare("POST", path, permission, target, post(handler))
    }

    fn declare(
        mut self,
        method: &'static str,
        path: &'static str,
        permission: Permission,
        target: Target,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.declared.push((StaffRoute { method, path, permission, target }, handler));
        self
    }

    /// Adds the routes of another area.
    pub fn area(mut self, area: impl FnOnce(StaffRoutes) -> StaffRoutes) -> Self {
        self.declared.extend(area(StaffRoutes::default()).declared);
        self
    }

    /// The declarations, in the order they were made.
    pub fn list(&self) -> Vec<StaffRoute> {
        self.declared.iter().map(|(route, _)| *route).collect()
    }

    /// The router: every route behind a guard that loads the session and checks the declared
    /// permission, then hands the checked [`Staff`] to the handler.
    pub fn into_router(self, state: &AppState) -> Router<AppState> {
        self.declared.into_iter().fold(Router::new(), |router, (route, handler)| {
            let state = state.clone();
            let permission = route.permission;
            let guarded = handler.route_layer(middleware::from_fn(move |request: Request, next: Next| {
                guard(state.clone(), permission, request, next)
            }));
            router.route(route.path, guarded)
        })
    }
}

/// Refuses the request unless a session is open and its role has the permission; otherwise
/// keeps the [`Staff`] for the handler, so the session is read once.
async fn guard(state: AppState, permission: Permission, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let staff = match Staff::from_session(&mut parts, &state).await {
        Ok(staff) => staff,
        Err(e) => return e.into_response(),
    };
    if !staff.role.allows(permission) {
        return AppError::Forbidden.into_response();
    }
    parts.extensions.insert(staff);
    next.run(Request::from_parts(parts, body)).await
}
