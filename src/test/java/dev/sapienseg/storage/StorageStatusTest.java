package dev.sapienseg.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.storage.StorageStatus.Op;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** The status table, row by row, with exceptions built by the SDK's own builders as the client throws them. */
class StorageStatusTest {

    static SdkException s3(int status, String code) {
        return S3Exception.builder().statusCode(status)
                .message(code + " (Service: S3, Status Code: " + status + ", endpoint http://10.0.0.7:9000)")
                .awsErrorDetails(AwsErrorDetails.builder().errorCode(code).errorMessage("detail naming http://10.0.0.7:9000")
                        .serviceName("S3").build())
                .build();
    }

    static FailureReason reason(Op op, SdkException e) {
        return StorageStatus.classify(op, e).reason();
    }

    @Test
    void transientConditionsAreRetryableOnEveryCall() {
        SdkException[] transients = {
            s3(503, "SlowDown"), s3(429, "TooManyRequests"), s3(500, "InternalError"), s3(502, null), s3(504, null),
            s3(400, "RequestTimeout"), s3(409, "OperationAborted"), s3(400, "ExpiredToken"),
            s3(400, "TokenRefreshRequired"), s3(403, "RequestTimeTooSkewed"), s3(408, null), s3(400, null),
            SdkClientException.create("Unable to execute HTTP request: Connection refused"),
            ApiCallTimeoutException.create(60_000),
        };
        for (Op op : Op.values()) {
            for (SdkException e : transients) {
                StorageStatus.Outcome outcome = StorageStatus.classify(op, e);
                assertEquals(FailureReason.STORAGE_UNAVAILABLE, outcome.reason(), op + " " + e.getMessage());
                assertFalse(outcome.message().contains("10.0.0.7"), outcome.message());
            }
        }
    }

    @Test
    void missingAndForbiddenObjects() {
        SdkException noSuchKey = NoSuchKeyException.builder().statusCode(404)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("NoSuchKey").build()).message("missing").build();
        assertEquals(FailureReason.OBJECT_NOT_FOUND, reason(Op.READ_SOURCE, noSuchKey));
        assertEquals(FailureReason.OBJECT_NOT_FOUND, reason(Op.READ_SOURCE, s3(404, null))); // a HEAD: no body, no code
        assertEquals(FailureReason.OBJECT_NOT_FOUND, reason(Op.READ_SOURCE, s3(404, "NoSuchBucket")));
        assertEquals(FailureReason.STORAGE_ACCESS_DENIED, reason(Op.READ_SOURCE, s3(403, "AccessDenied")));
        assertEquals(FailureReason.STORAGE_ACCESS_DENIED, reason(Op.READ_SOURCE, s3(403, null)));
        // A summary not written yet, read without s3:ListBucket: S3 answers 403. That is "absent": recompute.
        assertTrue(StorageStatus.classify(Op.READ_OUTPUT, s3(403, null)).absent());
        assertTrue(StorageStatus.classify(Op.READ_OUTPUT, s3(403, "AccessDenied")).absent());
        assertTrue(StorageStatus.classify(Op.READ_OUTPUT, noSuchKey).absent());
        assertTrue(StorageStatus.classify(Op.DELETE, s3(404, "NoSuchKey")).absent());
        assertEquals(FailureReason.STORAGE_ACCESS_DENIED, reason(Op.WRITE, s3(403, "AccessDenied")));
        assertEquals(FailureReason.STORAGE_UNAVAILABLE, reason(Op.WRITE, s3(404, "NoSuchBucket")));
        assertEquals(FailureReason.STORAGE_UNAVAILABLE, reason(Op.READ_SOURCE, s3(412, "PreconditionFailed")));
    }

    @Test
    void otherRefusals() {
        assertEquals(FailureReason.MALFORMED_EVENT, reason(Op.READ_SOURCE, s3(400, "KeyTooLongError")));
        assertEquals(FailureReason.INTERNAL_ERROR, reason(Op.WRITE, s3(400, "InvalidArgument")));
        assertEquals(FailureReason.INTERNAL_ERROR, reason(Op.WRITE, s3(400, "MetadataTooLarge")));
        String message = StorageStatus.classify(Op.WRITE, s3(400, "InvalidArgument")).message();
        assertFalse(message.contains("10.0.0.7"), message);
        assertTrue(message.contains("InvalidArgument"), message);
        assertTrue(StorageStatus.detail(s3(400, "InvalidArgument")).contains("10.0.0.7"), "the log line keeps the detail");
    }
}
