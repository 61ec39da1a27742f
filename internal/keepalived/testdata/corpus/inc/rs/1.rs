real_server 10.75.0.1 80 {
}
