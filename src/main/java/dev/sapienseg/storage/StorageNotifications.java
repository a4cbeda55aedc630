package dev.sapienseg.storage;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.pipeline.FailureReason;
import dev.sapienseg.pipeline.SegmentationException;

/**
 * Recognises the storage notifications people wire up and names the objects in them:
 * <ul>
 * <li>AWS S3 event notifications: {@code {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name"},
 * "object": {"key"}}}]}}, keys URL-encoded (a space is {@code +});</li>
 * <li>MinIO webhook/Kafka notifications: the same records, plus {@code EventName: "s3:ObjectCreated:Put"} and
 * {@code Key: "bucket/key"};</li>
 * <li>the CloudEvents form {@code com.amazonaws.s3.ObjectCreated:*}, whose data is a record or a notification;</li>
 * <li>GCS {@code google.cloud.storage.object.v1.finalized}: data {@code {"bucket", "name", …}}, names not encoded.</li>
 * </ul>
 * Events of another type are sniffed: JSON data of one of these shapes is a notification (a KafkaSource, for
 * instance, delivers MinIO's JSON as {@code dev.knative.kafka.event}).
 */
public final class StorageNotifications {

    public static final String S3_CLOUDEVENT_PREFIX = "com.amazonaws.s3.";
    public static final String GCS_FINALIZED = "google.cloud.storage.object.v1.finalized";

    private static final ObjectMapper JSON = new ObjectMapper();

    private StorageNotifications() {
    }

    /** True for types that can only be storage notifications. */
    public static boolean isStorageType(String type) {
        return type != null && (type.startsWith(S3_CLOUDEVENT_PREFIX) || type.startsWith("google.cloud.storage.object.v1."));
    }

    /**
     * The objects of a notification, or empty if the data is not one (then the event is something else).
     * For a storage type, data that cannot be read as a notification is a malformed event.
     */
    public static Optional<List<ObjectEvent>> parse(String type, byte[] data) {
        boolean storageType = isStorageType(type);
        JsonNode json = null;
        if (data != null && data.length > 0 && firstNonSpace(data) == '{') {
            try {
                json = JSON.readTree(data);
            } catch (IOException e) {
                json = null;
            }
        }
        if (json == null || !json.isObject()) {
            if (storageType) {
                throw malformed(type, "data is not a JSON object");
            }
            return Optional.empty();
        }
        List<ObjectEvent> objects = new ArrayList<>();
        if (json.has("Records")) {
            for (JsonNode record : json.get("Records")) {
                objects.add(s3Record(record));
            }
        } else if (json.has("s3")) { // one S3 record (the CloudEvents form)
            objects.add(s3Record(json));
        } else if (json.has("bucket") && json.has("name") && json.get("bucket").isTextual()) { // GCS object resource
            boolean finalized = type == null || !type.startsWith("google.cloud.storage.object.v1.")
                    || type.equals(GCS_FINALIZED);
            objects.add(new ObjectEvent(text(json, "bucket"), text(json, "name"),
                    type != null ? type : "gcs", finalized));
        } else if (storageType) {
            throw malformed(type, "no Records, s3 record or bucket/name in the data");
        } else {
            return Optional.empty();
        }
        if (objects.isEmpty()) {
            throw malformed(type, "the notification names no object");
        }
        return Optional.of(objects);
    }

    private static ObjectEvent s3Record(JsonNode record) {
        JsonNode s3 = record.path("s3");
        String bucket = s3.path("bucket").path("name").asText(null);
        String encodedKey = s3.path("object").path("key").asText(null);
        String eventName = record.path("eventName").asText("");
        if (bucket == null || encodedKey == null) {
            throw malformed("S3 notification", "a record lacks s3.bucket.name or s3.object.key");
        }
        String key = URLDecoder.decode(encodedKey, StandardCharsets.UTF_8);
        boolean created = eventName.contains("ObjectCreated") || eventName.isEmpty();
        return new ObjectEvent(bucket, key, eventName, created);
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }

    private static int firstNonSpace(byte[] data) {
        for (byte b : data) {
            if (!Character.isWhitespace(b)) {
                return b;
            }
        }
        return -1;
    }

    private static SegmentationException malformed(String type, String what) {
        return new SegmentationException(FailureReason.MALFORMED_EVENT, "malformed storage notification (" + type + "): " + what);
    }
}
