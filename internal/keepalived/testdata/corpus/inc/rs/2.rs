real_server 10.75.0.2 80 {
    lvs_method TUN
}
