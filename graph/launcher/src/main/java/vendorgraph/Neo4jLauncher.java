package vendorgraph;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.SettingValueParsers;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

/**
 * Runs Neo4j Community as an embedded DBMS whose Bolt connector is enabled, i.e. a real
 * Bolt server that any Neo4j driver can talk to.
 *
 * <p>Contract (graph/server.py depends on it):
 * <ul>
 *   <li>Everything lives under {@code --data-dir}: the store in {@code data/}, transaction
 *       logs, and Neo4j's own logs in {@code logs/} (debug.log).</li>
 *   <li>Exactly one line {@code READY bolt://HOST:PORT} is printed to stdout once the Bolt
 *       connector listens <em>and</em> the {@code neo4j} database is available for queries.</li>
 *   <li>SIGTERM / SIGINT shut the DBMS down cleanly (the store is flushed and unlocked),
 *       then {@code STOPPED} is printed and the JVM exits 0.</li>
 *   <li>A failed start prints a line beginning with {@code FAILED} and exits non-zero
 *       (2 = bad arguments, 1 = Neo4j refused to start, 3 = database never became available).</li>
 * </ul>
 *
 * <p>Embedded mode means: no authentication (any user/password is accepted), no TLS on Bolt,
 * no HTTP connector. Bind it to loopback only.
 */
public final class Neo4jLauncher {

    private static final String USAGE = String.join("\n",
            "usage: Neo4jLauncher --data-dir DIR [options]",
            "  --data-dir DIR        Neo4j home: store, transaction logs and logs/ (required)",
            "  --host HOST           Bolt listen + advertised host (default 127.0.0.1)",
            "  --port PORT           Bolt port (default 7687)",
            "  --pagecache SIZE      page cache size, e.g. 512m (default 512m)",
            "  --tx-total-max SIZE   dbms.memory.transaction.total.max, e.g. 512m (default: Neo4j's)",
            "  --tx-max SIZE         db.memory.transaction.max per transaction (default: Neo4j's)",
            "  --tx-timeout DURATION db.transaction.timeout, e.g. 120s: any longer transaction is stopped (default: none)",
            "  --wait-seconds N      give up if 'neo4j' is not available after N s (default 600)");

    private Neo4jLauncher() {
    }

    public static void main(String[] argv) {
        PrintStream out = System.out;
        Map<String, String> opts;
        try {
            opts = parseArgs(argv);
        } catch (IllegalArgumentException e) {
            System.err.println(USAGE);
            out.println("FAILED bad arguments: " + e.getMessage());
            out.flush();
            System.exit(2);
            return;
        }

        Path home = Path.of(opts.get("--data-dir")).toAbsolutePath().normalize();
        String host = opts.getOrDefault("--host", "127.0.0.1");
        int port;
        long waitMillis;
        DatabaseManagementServiceBuilder builder;
        try {
            port = Integer.parseInt(opts.getOrDefault("--port", "7687"));
            waitMillis = TimeUnit.SECONDS.toMillis(Long.parseLong(opts.getOrDefault("--wait-seconds", "600")));
            Files.createDirectories(home);
            builder = configure(home, host, port, opts);
        } catch (Exception e) {
            out.println("FAILED bad arguments: " + e);
            out.flush();
            System.exit(2);
            return;
        }

        DatabaseManagementService dbms;
        try {
            dbms = builder.build();
        } catch (Throwable e) {
            // Typical causes: port already bound, store locked by another process, bad config key.
            e.printStackTrace();
            out.println("FAILED neo4j did not start: " + e);
            out.flush();
            System.exit(1);
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        // The JVM runs shutdown hooks on SIGTERM/SIGINT (and on System.exit), which is what
        // lets a plain `kill PID` leave a clean, unlocked store behind.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                dbms.shutdown();
            } catch (Throwable e) {
                e.printStackTrace();
            } finally {
                out.println("STOPPED");
                out.flush();
                stopped.countDown();
            }
        }, "vendorgraph-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(waitMillis)) {
            out.println("FAILED database 'neo4j' not available after " + waitMillis + " ms");
            out.flush();
            System.exit(3); // the shutdown hook still closes the DBMS
            return;
        }
        out.println("READY bolt://" + host + ":" + port);
        out.flush();

        // Park the main thread; the Bolt/Netty and Neo4j threads keep the process alive,
        // but waiting here keeps the lifetime explicit.
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Builds the embedded DBMS configuration. Pure: starts nothing. */
    static DatabaseManagementServiceBuilder configure(Path home, String host, int port, Map<String, String> opts) {
        SocketAddress bolt = new SocketAddress(host, port);
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, bolt)
                // Advertised address matters for neo4j:// URIs: the routing table handed to
                // drivers would otherwise point at the default :7687.
                .setConfig(BoltConnector.advertised_address, bolt)
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(GraphDatabaseSettings.auth_enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory,
                        SettingValueParsers.BYTES.parse(opts.getOrDefault("--pagecache", "512m")));
        if (opts.containsKey("--tx-total-max")) {
            builder.setConfig(GraphDatabaseSettings.memory_transaction_global_max_size,
                    SettingValueParsers.BYTES.parse(opts.get("--tx-total-max")));
        }
        if (opts.containsKey("--tx-max")) {
            builder.setConfig(GraphDatabaseSettings.memory_transaction_max_size,
                    SettingValueParsers.BYTES.parse(opts.get("--tx-max")));
        }
        if (opts.containsKey("--tx-timeout")) {
            // A backstop against runaway queries: Neo4j terminates any transaction running
            // longer (TransactionTimedOut), so no traversal can hold a web worker for good.
            builder.setConfig(GraphDatabaseSettings.transaction_timeout,
                    SettingValueParsers.DURATION.parse(opts.get("--tx-timeout")));
        }
        // By the time Netty's event loops are shut down, Neo4j has already closed every Bolt
        // connection and checkpointed the databases; the default 5 s quiet period (applied to
        // two loop groups) only added ~10 s to every stop. Internal setting, typed, so a rename
        // in another Neo4j version fails the build rather than start-up.
        builder.setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0);
        // dbms.usage_report.enabled. The 5.26 builder has no setConfigRaw(), and the typed
        // Setting is safer anyway: Neo4j validates config strictly, so a misspelt raw key
        // would abort start-up instead of being ignored.
        builder.setConfig(GraphDatabaseSettings.udc_enabled, false);
        return builder;
    }

    /** Parses {@code --key value} pairs; {@code --data-dir} is required. */
    static Map<String, String> parseArgs(String[] argv) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            String key = argv[i];
            if (key.equals("-h") || key.equals("--help")) {
                throw new IllegalArgumentException("help requested");
            }
            if (!USAGE.contains("  " + key + " ")) {
                throw new IllegalArgumentException("unknown option " + key);
            }
            if (i + 1 >= argv.length) {
                throw new IllegalArgumentException("missing value for " + key);
            }
            opts.put(key, argv[++i]);
        }
        if (!opts.containsKey("--data-dir")) {
            throw new IllegalArgumentException("--data-dir is required");
        }
        return opts;
    }
}
