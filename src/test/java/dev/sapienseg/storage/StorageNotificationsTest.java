package dev.sapienseg.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

class StorageNotificationsTest {

    private static List<ObjectEvent> parse(String type, String json) {
        return StorageNotifications.parse(type, json.getBytes(StandardCharsets.UTF_8)).orElseThrow();
    }

    @Test
    void decodesS3KeysAsS3EncodesThem() {
        List<ObjectEvent> events = parse("anything", """
                {"Records":[{"eventName":"ObjectCreated:CompleteMultipartUpload","s3":{"bucket":{"name":"b"},
                "object":{"key":"dir/my+photo%2B1%C3%A9.jpg"}}},
                {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"x.jpg"}}}]}""");
        assertEquals(new ObjectEvent("b", "dir/my photo+1\u00e9.jpg", "ObjectCreated:CompleteMultipartUpload", true), events.get(0));
        assertEquals(new ObjectEvent("b", "x.jpg", "ObjectRemoved:Delete", false), events.get(1));
    }

    @Test
    void gcsNamesAreNotEncodedAndOnlyFinalizeCreates() {
        assertEquals(new ObjectEvent("b", "a+b c.jpg", StorageNotifications.GCS_FINALIZED, true),
                parse(StorageNotifications.GCS_FINALIZED, "{\"bucket\":\"b\",\"name\":\"a+b c.jpg\",\"size\":\"12\"}").get(0));
        assertEquals(false, parse("google.cloud.storage.object.v1.deleted", "{\"bucket\":\"b\",\"name\":\"a.jpg\"}").get(0).created());
    }

    @Test
    void otherEventsAreNotNotificationsButBrokenNotificationsAreMalformed() {
        assertTrue(StorageNotifications.parse("com.example", "{\"hello\":1}".getBytes()).isEmpty());
        assertTrue(StorageNotifications.parse("com.example", new byte[] {(byte) 0xFF, (byte) 0xD8}).isEmpty());
        SegmentationException e = assertThrows(SegmentationException.class,
                () -> StorageNotifications.parse("com.amazonaws.s3.ObjectCreated:Put", "not json".getBytes()));
        assertEquals(FailureReason.MALFORMED_EVENT, e.reason());
        // A broken record is that record's problem, not the whole notification's.
        ObjectEvent broken = parse("x", "{\"Records\":[{\"s3\":{\"bucket\":{}}}]}").get(0);
        assertEquals(FailureReason.MALFORMED_EVENT, broken.problem().reason());
        assertThrows(SegmentationException.class, () -> parse("x", "{\"Records\":[]}"));
    }

    @Test
    void aKeyThatIsNotUrlEncodingIsThatRecordsMalformedEventNotACrash() {
        List<ObjectEvent> events = parse("x", """
                {"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"100%.jpg"}}},
                {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"ok%20one.jpg"}}}]}""");
        assertEquals(FailureReason.MALFORMED_EVENT, events.get(0).problem().reason());
        assertTrue(events.get(0).problem().getMessage().contains("not valid URL encoding"), events.get(0).problem().getMessage());
        assertEquals(new ObjectEvent("b", "ok one.jpg", "ObjectCreated:Put", true), events.get(1));
    }
}
