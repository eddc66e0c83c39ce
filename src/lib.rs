
pub mod pgp;
