import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeTempDir } from "../testing/fixtures.js";
import { runCli } from "../testing/run-cli.js";
import { renderSystemdUnit, systemdNextSteps } from "./systemd-unit.js";

describe("the systemd unit of `axon cluster up --service`", () => {
  it("carries --listen and --insecure-no-auth to the daemon, which checks them at every start", () => {
    const unit = renderSystemdUnit({
      node: "/usr/local/bin/node",
      entry: "/opt/axon/main.js",
      home: "/srv/axon",
      listen: "0.0.0.0:8888",
      insecureNoAuth: true,
      system: true,
    });
    expect(unit).toContain(
      "ExecStart=/usr/local/bin/node /opt/axon/main.js --home /srv/axon --listen 0.0.0.0:8888 --insecure-no-auth\n",
    );
  });

  it("carries --tls-cert/--tls-key, and `systemctl reload` sends the daemon SIGHUP to read them again", () => {
    // Given a gateway served over TLS
    const unit = renderSystemdUnit({
      node: "/usr/local/bin/node",
      entry: "/opt/axon/main.js",
      home: "/srv/axon",
      listen: "0.0.0.0:8443",
      tlsCert: "/etc/axon/tls/fullchain.pem",
      tlsKey: "/etc/axon/tls/privkey.pem",
      system: true,
    });
    // Then the daemon gets the files, and the unit's reload signals it ($ left for systemd)
    expect(unit).toContain(
      "ExecStart=/usr/local/bin/node /opt/axon/main.js --home /srv/axon --listen 0.0.0.0:8443 --tls-cert /etc/axon/tls/fullchain.pem --tls-key /etc/axon/tls/privkey.pem\n",
    );
    expect(unit).toContain("ExecReload=/bin/kill -HUP $MAINPID\n");
    // And a unit without TLS has nothing to reload
    const plain = renderSystemdUnit({ node: "n", entry: "e", home: "/h", system: true });
    expect(plain).not.toContain("ExecReload");
  });

  it("runs the daemon itself (systemd restarts it), restarts only failures, and stays private", () => {
    // Given this installation's paths, a gateway port and an interpreter
    const unit = renderSystemdUnit({
      node: "/usr/local/bin/node",
      entry: "/opt/axon/packages/control-plane/dist/main.js",
      home: "/home/ml/.axon",
      gatewayPort: 80,
      python: "/opt/conda/bin/python3",
      pathEnv: "/opt/conda/bin:/usr/bin",
      system: false,
    });

    // Then the unit is exactly this
    expect(unit).toMatchInlineSnapshot(`
      "# Written by \`axon cluster up --service\`. Edit and run \`systemctl daemon-reload\`, or write it again.
      [Unit]
      Description=Axon control plane and gateway (/home/ml/.axon)
      After=network-online.target
      Wants=network-online.target

      [Service]
      Type=simple
      ExecStart=/usr/local/bin/node /opt/axon/packages/control-plane/dist/main.js --home /home/ml/.axon --gateway-port 80 --python /opt/conda/bin/python3
      Environment=AXON_HOME=/home/ml/.axon
      Environment=PATH=/opt/conda/bin:/usr/bin
      Restart=on-failure
      RestartSec=1
      KillMode=mixed
      TimeoutStopSec=40
      UMask=0077

      [Install]
      WantedBy=default.target
      "
    `);
    expect(unit).not.toContain("--supervise");
  });

  it("quotes what systemd would split or expand", () => {
    // Given a home with a space, a percent sign and a dollar
    const unit = renderSystemdUnit({
      node: "/usr/bin/node",
      entry: "/opt/axon/main.js",
      home: "/srv/my models/100%/$x",
      system: true,
    });

    // Then each is one argument, with % escaped (and $ where systemd expands it), and the unit
    // is a system one
    expect(unit).toContain(
      'ExecStart=/usr/bin/node /opt/axon/main.js --home "/srv/my models/100%%/$$x"',
    );
    expect(unit).toContain('Environment="AXON_HOME=/srv/my models/100%%/$x"');
    expect(unit).toContain("Description=Axon control plane and gateway (/srv/my models/100%%/$x)");
    expect(unit).toContain("WantedBy=multi-user.target");
  });

  it("tells a user unit's owner to enable lingering so it starts at boot", () => {
    expect(systemdNextSteps(false, "ml")).toEqual([
      "systemctl --user daemon-reload",
      "systemctl --user enable --now axon",
      "loginctl enable-linger ml   # start it at boot, without a login",
      "journalctl --user -u axon -f   # its log",
    ]);
    expect(systemdNextSteps(true, "root")).not.toContainEqual(expect.stringContaining("linger"));
  });

  it("writes the unit and prints how to start it, without starting a cluster", async () => {
    // Given a folder for the unit and a home
    const dir = await makeTempDir();
    const home = path.join(dir, "home");

    // When `cluster up --service` runs
    const run = await runCli(["cluster", "up", "--service", "--gateway-port", "9000"], {
      env: { AXON_HOME: home, AXON_SYSTEMD_UNIT_DIR: dir, PATH: "/usr/bin", USER: "ml" },
    });

    // Then the unit is written with this home and port, and the next steps are on stdout
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe(`systemd unit written to ${path.join(dir, "axon.service")}\n`);
    const unit = readFileSync(path.join(dir, "axon.service"), "utf8");
    expect(unit).toContain(`--home ${home} --gateway-port 9000`);
    expect(unit).toMatch(/^ExecStart=\S*node\S* \S+main\.js /m);
    expect(run.stdout).toContain("enable --now axon");
  });
});
