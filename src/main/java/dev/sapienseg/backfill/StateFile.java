package dev.sapienseg.backfill;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * The {@code --state} file: one key per line, each sent or found complete, so that a rerun skips them without asking
 * the store. Every line is flushed as it is written: a run that is killed loses none of them. A line counts only with
 * its line break: a write torn by a crash (a key cut short, even inside a UTF-8 character) is dropped when the file is
 * opened again, so a cut key can never pass for another, shorter one (photos/a.jpg.png cut to photos/a.jpg).
 */
final class StateFile {

    private final Path file;
    private final Set<String> done;
    private final BufferedWriter log;

    private StateFile(Path file, Set<String> done, BufferedWriter log) {
        this.file = file;
        this.done = done;
        this.log = log;
    }

    /**
     * Reads the keys recorded by earlier runs and opens the file for appending (creating it); {@code file} null: no
     * state, nothing is remembered.
     *
     * @throws Backfill.CannotRun when the file cannot be read or written
     */
    static StateFile open(Path file) {
        Set<String> done = new HashSet<>();
        if (file == null) {
            return new StateFile(null, done, null);
        }
        try {
            if (Files.exists(file)) {
                done.addAll(completeLines(file));
            }
            return new StateFile(file, done, Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new Backfill.CannotRun("cannot use the state file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The lines that end in a line break; a torn last line is cut off the file, so the next key starts a line. */
    private static Set<String> completeLines(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end < bytes.length) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.truncate(end);
            }
        }
        Set<String> lines = new HashSet<>();
        for (String line : new String(bytes, 0, end, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isEmpty()) {
                lines.add(line);
            }
        }
        return lines;
    }

    /** Whether an earlier run recorded the key (keys recorded by this run are not looked up again). */
    boolean contains(String key) {
        return done.contains(key);
    }

    /** Appends a key that needs no further notification (a line per key: keys with a line break are never recorded). */
    synchronized void record(String key) {
        if (log == null || key.indexOf('\n') >= 0 || key.indexOf('\r') >= 0) {
            return;
        }
        try {
            log.write(key);
            log.write('\n');
            log.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the state file " + file, e);
        }
    }

    synchronized void close() {
        if (log != null) {
            try {
                log.close();
            } catch (IOException e) {
                // every line was flushed as it was written
            }
        }
    }
}
