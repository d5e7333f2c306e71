def test_show(scenario):
    cli = scenario.cli
    out = []
    for args in (["--creator", "alice", "--period", scenario.months[2]], ["--creator", "bob", "--period", scenario.months[1]],
                 ["--creator", "alice", "--format", "csv"], ["--creator", "alice", "--period", "2020-02"]):
        r = cli("report", "statement", *args)
        out.append(f"$ royalty report statement {' '.join(args)}  (rc={r.code})\n{r.stdout}{r.stderr}")
    r = cli("report", "statement", "--creator", "alice", "--period", "2026-13")
    out.append(f"rc={r.code} {r.stderr}")
    r = cli("report", "transparency", "--licensee", "acme")
    out.append(r.stdout)
    open("/tmp/rl/show.txt", "w").write("\n".join(out))
