package dev.sapienseg.storage;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What a storage delivery is made of and what it leaves in the bucket, for the tests that kill or restart the function
 * around deliveries: the notification a broker delivers, the outputs a reply lists and the outputs the bucket holds.
 */
public final class StoredOutputs {

    /** Where the function writes a source's outputs by default ({@code sapiens.storage.output-prefix}). */
    public static final String PREFIX = "sapiens-seg/";

    private static final ObjectMapper JSON = new ObjectMapper();

    private StoredOutputs() {
    }

    /** A MinIO webhook/Kafka notification of one object put (the key URL-encoded in the record, as MinIO sends it). */
    public static String minioNotification(String bucket, String key) {
        return """
                {"EventName":"s3:ObjectCreated:Put","Key":"%s/%s","Records":[{"eventVersion":"2.0","eventSource":"minio:s3",
                 "eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"%s"},"object":{"key":"%s","size":10}}}]}"""
                .formatted(bucket, key, bucket, URLEncoder.encode(key, StandardCharsets.UTF_8));
    }

    /** The outputs of one source of the photos bucket (its name's keys only, not its neighbours') with their ETags. */
    public static Map<String, String> listed(S3Client s3, String sourceKey) {
        Map<String, String> keys = new TreeMap<>();
        OutputKeys outputs = new OutputKeys(PREFIX + sourceKey);
        for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket("photos").prefix(PREFIX + sourceKey)).contents()) {
            if (outputs.all().contains(o.key())) {
                keys.put(o.key(), o.eTag().replace("\"", ""));
            }
        }
        return keys;
    }

    /** The outputs a delivery's reply lists for its first object, with their ETags. */
    public static Map<String, String> replied(String replyBody) throws IOException {
        Map<String, String> objects = new TreeMap<>();
        for (JsonNode object : JSON.readTree(replyBody).get("results").get(0).get("objects")) {
            objects.put(object.get("key").asText(), object.get("eTag").asText());
        }
        return objects;
    }
}
