package dev.sapienseg.storage;

/**
 * One object named by a storage notification, keys already decoded.
 *
 * @param created true for object-created/finalized events; others (deletions, metadata updates) are ignored
 */
public record ObjectEvent(String bucket, String key, String eventName, boolean created) {
}
