//! Admin authentication: `Authorization: Bearer <admin token>`.

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::AppState;

/// The admin token, required by every management and trace endpoint.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_admin_token")]
pub struct AdminAuth(());

async fn check_admin_token(req: &Request, bearer: Bearer) -> Option<()> {
    let state = req.data::<AppState>()?;
    state.admin.verify(&bearer.token).then_some(())
}
