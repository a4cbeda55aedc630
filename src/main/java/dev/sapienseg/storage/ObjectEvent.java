package dev.sapienseg.storage;

import dev.sapienseg.failure.SegmentationException;

/**
 * One object named by a storage notification, keys already decoded.
 *
 * @param created true for object-created/finalized events; others (deletions, metadata updates) are ignored
 * @param problem why this record cannot be processed (a key that is not URL encoding, a record without a bucket…),
 *        or null; the notification's other records are processed all the same
 */
public record ObjectEvent(String bucket, String key, String eventName, boolean created, SegmentationException problem) {

    public ObjectEvent(String bucket, String key, String eventName, boolean created) {
        this(bucket, key, eventName, created, null);
    }

    static ObjectEvent malformed(String bucket, String key, String eventName, SegmentationException problem) {
        return new ObjectEvent(bucket, key, eventName, true, problem);
    }
}
