package dev.sapienseg.lifecycle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** The container's memory limit as the kernel enforces it (cgroup v2, else v1), if there is one. */
final class ContainerMemory {

    private ContainerMemory() {
    }

    static Optional<Long> limitBytes() {
        for (Path file : new Path[] {Path.of("/sys/fs/cgroup/memory.max"),
                Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes")}) {
            try {
                String text = Files.readString(file).strip();
                if (text.equals("max")) {
                    return Optional.empty();
                }
                long limit = Long.parseLong(text);
                return limit > 0 && limit < (1L << 60) ? Optional.of(limit) : Optional.empty();
            } catch (IOException | NumberFormatException e) {
                // not this cgroup version, or no limit
            }
        }
        return Optional.empty();
    }
}
