pub mod mailio;
