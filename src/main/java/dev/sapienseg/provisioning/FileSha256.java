package dev.sapienseg.provisioning;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import dev.sapienseg.util.Digests;

/** SHA-256 of files on disk: cached and local model files, and the part of a download that is resumed. */
final class FileSha256 {

    private FileSha256() {
    }

    /** The whole file's SHA-256, as 64 lower-case hex digits. */
    static String of(Path file) throws IOException {
        MessageDigest digest = Digests.sha256();
        update(digest, file, Long.MAX_VALUE);
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * Feeds the first {@code bytes} bytes of {@code file} to {@code digest}; all of it for {@code Long.MAX_VALUE},
     * otherwise a file shorter than that is an error (the download it began cannot be resumed).
     */
    static void update(MessageDigest digest, Path file, long bytes) throws IOException {
        byte[] buffer = new byte[1 << 20];
        long left = bytes;
        try (InputStream in = Files.newInputStream(file)) {
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    if (bytes == Long.MAX_VALUE) {
                        return;
                    }
                    throw new IOException(file + " is shorter than " + bytes + " bytes");
                }
                digest.update(buffer, 0, n);
                left -= n;
            }
        }
    }
}
