pub mod mailstack;
