package dev.sapienseg.storage;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * Recognises the storage notifications people wire up and names the objects in them:
 * <ul>
 * <li>AWS S3 event notifications: {@code {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name"},
 * "object": {"key"}}}]}}, keys URL-encoded (a space is {@code +});</li>
 * <li>MinIO webhook/Kafka notifications: the same records, plus {@code EventName: "s3:ObjectCreated:Put"} and
 * {@code Key: "bucket/key"};</li>
 * <li>the CloudEvents form {@code com.amazonaws.s3.ObjectCreated:*}, whose data is a record or a notification;</li>
 * <li>GCS {@code google.cloud.storage.object.v1.finalized}: data {@code {"bucket", "name", …}}, names not encoded;</li>
 * <li>Knative's AWS SQS IntegrationSource, {@code dev.knative.eventing.aws-sqs}: the data is the SQS message body as
 * sent, so an S3 notification, S3's {@code s3:TestEvent} (sent once when notifications are configured: ignored), or
 * an SNS envelope ({@code {"Type": "Notification", "Message": "<the notification as a string>"}}) when the bucket
 * notifies an SNS topic that feeds the queue. Its CloudEvent attributes are fixed (source
 * {@code dev.knative.eventing.aws-sqs-source}, subject {@code aws-sqs-source}, data content type
 * {@code application/json}): bucket and key are only in the data.</li>
 * </ul>
 * Events of another type are sniffed: JSON data of one of these shapes is a notification (a KafkaSource, for
 * instance, delivers MinIO's JSON as {@code dev.knative.kafka.event}).
 */
public final class StorageNotifications {

    public static final String S3_CLOUDEVENT_PREFIX = "com.amazonaws.s3.";
    public static final String GCS_FINALIZED = "google.cloud.storage.object.v1.finalized";
    /** Knative Eventing's IntegrationSource for AWS SQS (eventing-integrations' aws-sqs-source). */
    public static final String KNATIVE_AWS_SQS = "dev.knative.eventing.aws-sqs";

    private static final ObjectMapper JSON = new ObjectMapper();

    private StorageNotifications() {
    }

    /** True for types that can only be storage notifications. */
    public static boolean isStorageType(String type) {
        return type != null && (type.startsWith(S3_CLOUDEVENT_PREFIX) || type.startsWith("google.cloud.storage.object.v1.")
                || type.equals(KNATIVE_AWS_SQS));
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
        if ("Notification".equals(json.path("Type").asText(null)) && json.path("Message").isTextual()
                && json.has("TopicArn")) { // S3 -> SNS -> SQS without raw message delivery
            try {
                json = JSON.readTree(json.get("Message").asText());
            } catch (IOException e) {
                throw malformed(type, "the SNS envelope's Message is not JSON");
            }
            if (json == null || !json.isObject()) {
                throw malformed(type, "the SNS envelope's Message is not a JSON object");
            }
        }
        if ("s3:TestEvent".equals(json.path("Event").asText(null))) {
            throw new EventIgnoredException("S3's s3:TestEvent (sent once when bucket notifications are configured)");
        }
        List<ObjectEvent> objects = new ArrayList<>();
        if (json.has("Records")) {
            if (!json.get("Records").isArray()) {
                throw malformed(type, "Records is not an array");
            }
            int index = 0;
            for (JsonNode record : json.get("Records")) {
                objects.add(s3Record(record, index++));
            }
        } else if (json.has("s3")) { // one S3 record (the CloudEvents form)
            objects.add(s3Record(json, 0));
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

    /** One S3 record; a record that cannot be read is returned with its problem, so the others still count. */
    private static ObjectEvent s3Record(JsonNode record, int index) {
        JsonNode s3 = record.path("s3");
        String bucket = s3.path("bucket").path("name").isTextual() ? s3.path("bucket").path("name").asText() : null;
        String encodedKey = s3.path("object").path("key").isTextual() ? s3.path("object").path("key").asText() : null;
        String eventName = record.path("eventName").asText("");
        if (bucket == null || encodedKey == null) {
            return ObjectEvent.malformed(bucket, encodedKey, eventName, malformed("S3 notification",
                    "record " + index + " lacks s3.bucket.name or s3.object.key"));
        }
        String key;
        try {
            key = URLDecoder.decode(encodedKey, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            // "100%.jpg": S3 always encodes a literal % as %25, so this record was not written by S3.
            return ObjectEvent.malformed(bucket, encodedKey, eventName, malformed("S3 notification", "record " + index
                    + ": s3.object.key '" + LogSafe.of(encodedKey, 200) + "' is not valid URL encoding (a literal %"
                    + " must be sent as %25)"));
        }
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
