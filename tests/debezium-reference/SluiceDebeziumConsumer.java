// A consumer written for Debezium, reading Sluice's debezium-json messages
// (tests/integration/debezium_reference.rs): what a Kafka Connect sink does
// with them. Each message goes through Kafka Connect's JsonConverter (the
// `{schema, payload}` form, schemas.enable=true), which checks every payload
// value against its schema, and then through Debezium's own
// ExtractNewRecordState transform, which sink connectors use to turn the
// change envelope into the row it leaves (deletes rewritten as the old row
// with "__deleted": "true"; tombstones dropped).
//
// Input on stdin, one message per line: the topic, the key's JSON and the
// value's JSON (or null, a tombstone), separated by tabs (JSON text has no
// raw tab). Output on stdout, one line per input line: the row the transform
// leaves as JSON without a schema, "dropped", or "error: <why>".
//
// Built by scripts/lib/install.sh (ensure_debezium_reference) against the
// jars of Debezium 3.6.3.Final.

import io.debezium.transforms.ExtractNewRecordState;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;

public class SluiceDebeziumConsumer {
    public static void main(String[] args) throws Exception {
        JsonConverter keys = new JsonConverter();
        keys.configure(Map.of("schemas.enable", "true"), true);
        JsonConverter values = new JsonConverter();
        values.configure(Map.of("schemas.enable", "true"), false);
        JsonConverter rows = new JsonConverter();
        rows.configure(Map.of("schemas.enable", "false"), false);
        ExtractNewRecordState<SinkRecord> flatten = new ExtractNewRecordState<>();
        Map<String, String> settings = new HashMap<>();
        settings.put("delete.tombstone.handling.mode", "rewrite");
        flatten.configure(settings);

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        long offset = 0;
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.split("\t", 3);
            try {
                String topic = parts[0];
                SchemaAndValue key = keys.toConnectData(topic, bytes(parts[1]));
                SchemaAndValue value = values.toConnectData(topic, bytes(parts[2]));
                SinkRecord record = new SinkRecord(topic, 0, key.schema(), key.value(),
                        value.schema(), value.value(), offset++);
                SinkRecord row = flatten.apply(record);
                if (row == null || row.value() == null) {
                    System.out.println("dropped");
                } else {
                    byte[] out = rows.fromConnectData(topic, row.valueSchema(), row.value());
                    System.out.println(new String(out, StandardCharsets.UTF_8));
                }
            } catch (Exception e) {
                System.out.println("error: " + e.toString().replace('\n', ' '));
            }
        }
        System.out.flush();
    }

    private static byte[] bytes(String json) {
        return json.equals("null") ? null : json.getBytes(StandardCharsets.UTF_8);
    }
}
