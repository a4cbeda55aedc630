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

    /** The SQS message body S3 writes (AWS's documented event structure, version 2.1), as the aws-sqs source passes it. */
    static final String S3_TO_SQS_BODY = """
            {"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-north-1",
            "eventTime":"2026-06-24T10:15:29.511Z","eventName":"ObjectCreated:Put",
            "userIdentity":{"principalId":"AWS:AIDAEXAMPLE"},"requestParameters":{"sourceIPAddress":"203.0.113.9"},
            "responseElements":{"x-amz-request-id":"C3D13FE58DE4C810","x-amz-id-2":"FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
            "s3":{"s3SchemaVersion":"1.0","configurationId":"to-sqs","bucket":{"name":"photos",
            "ownerIdentity":{"principalId":"A3NL1KOZZKExample"},"arn":"arn:aws:s3:::photos"},
            "object":{"key":"albums/summer+2026/cat%C3%A9.jpg","size":21037,"eTag":"d41d8cd98f00b204e9800998ecf8427e",
            "versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko","sequencer":"0066794A1B2C3D4E5F"}}}]}""";

    @Test
    void knativeAwsSqsSourceCarriesTheS3NotificationAsItsData() {
        assertTrue(StorageNotifications.isStorageType(StorageNotifications.KNATIVE_AWS_SQS));
        assertEquals(List.of(new ObjectEvent("photos", "albums/summer 2026/cat\u00e9.jpg", "ObjectCreated:Put", true)),
                parse(StorageNotifications.KNATIVE_AWS_SQS, S3_TO_SQS_BODY));
    }

    @Test
    void anSnsEnvelopeIsOpened() {
        String envelope = """
                {"Type":"Notification","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
                "TopicArn":"arn:aws:sns:eu-north-1:123456789012:photos-uploaded","Subject":"Amazon S3 Notification",
                "Message":%s,"Timestamp":"2026-06-24T10:15:29.602Z","SignatureVersion":"1","Signature":"EXAMPLEpH+..",
                "SigningCertURL":"https://sns.eu-north-1.amazonaws.com/SimpleNotificationService-example.pem",
                "UnsubscribeURL":"https://sns.eu-north-1.amazonaws.com/?Action=Unsubscribe"}"""
                .formatted(new com.fasterxml.jackson.databind.node.TextNode(S3_TO_SQS_BODY).toString());
        assertEquals("albums/summer 2026/cat\u00e9.jpg", parse(StorageNotifications.KNATIVE_AWS_SQS, envelope).get(0).key());
        SegmentationException bad = assertThrows(SegmentationException.class, () -> parse(
                StorageNotifications.KNATIVE_AWS_SQS, "{\"Type\":\"Notification\",\"TopicArn\":\"t\",\"Message\":\"hello\"}"));
        assertEquals(FailureReason.MALFORMED_EVENT, bad.reason());
    }

    @Test
    void s3sTestEventIsIgnoredAndOtherQueueMessagesAreMalformed() {
        EventIgnoredException ignored = assertThrows(EventIgnoredException.class, () -> parse(
                StorageNotifications.KNATIVE_AWS_SQS, """
                        {"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-06-24T10:10:02.089Z","Bucket":"photos",
                        "RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"""));
        assertTrue(ignored.getMessage().contains("s3:TestEvent"), ignored.getMessage());
        SegmentationException other = assertThrows(SegmentationException.class,
                () -> parse(StorageNotifications.KNATIVE_AWS_SQS, "{\"orderId\":42}"));
        assertEquals(FailureReason.MALFORMED_EVENT, other.reason());
        assertThrows(SegmentationException.class,
                () -> StorageNotifications.parse(StorageNotifications.KNATIVE_AWS_SQS, "plain text".getBytes()));
    }
}
