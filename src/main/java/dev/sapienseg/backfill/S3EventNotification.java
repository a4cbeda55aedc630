package dev.sapienseg.backfill;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import software.amazon.awssdk.services.s3.model.S3Object;

import dev.sapienseg.util.Digests;

/** The S3 event notification S3 sends for an upload, as the CloudEvent a storage trigger delivers to the function. */
final class S3EventNotification {

    private static final ObjectMapper JSON = new ObjectMapper();

    private S3EventNotification() {
    }

    /** The notification for {@code object} in {@code bucket} (key form-encoded, as S3 does). */
    static CloudEvent of(String bucket, String eventType, S3Object object, String eTag) {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("eventVersion", "2.1");
        record.put("eventSource", "aws:s3");
        record.put("eventTime", OffsetDateTime.now(ZoneOffset.UTC).toString());
        record.put("eventName", "ObjectCreated:Put");
        record.put("userIdentity", Map.of("principalId", "sapiens-backfill"));
        record.put("s3", Map.of("s3SchemaVersion", "1.0", "configurationId", "sapiens-backfill",
                "bucket", Map.of("name", bucket, "arn", "arn:aws:s3:::" + bucket),
                "object", Map.of("key", URLEncoder.encode(object.key(), StandardCharsets.UTF_8),
                        "size", object.size() == null ? 0 : object.size(), "eTag", eTag == null ? "" : eTag)));
        byte[] data;
        try {
            data = JSON.writeValueAsBytes(Map.of("Records", List.of(record)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return CloudEventBuilder.v1()
                .withId(eventId(bucket, object.key(), eTag))
                .withSource(URI.create("/sapiens/backfill/" + bucket))
                .withType(eventType)
                .withSubject(object.key().length() <= 512 ? object.key() : object.key().substring(0, 512))
                .withTime(OffsetDateTime.now(ZoneOffset.UTC))
                .withDataContentType("application/json")
                .withData(data)
                .build();
    }

    /**
     * The same picture version always gets the same id, so a resent notification is recognisable as a duplicate: the
     * first 16 bytes of the SHA-256 of bucket, key and ETag (NUL-separated), in hex.
     */
    static String eventId(String bucket, String key, String eTag) {
        byte[] digest = Digests.sha256(bucket + "\u0000" + key + "\u0000" + eTag);
        return "backfill-" + HexFormat.of().formatHex(digest, 0, 16);
    }
}
