package dev.sapienseg.batch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds the pictures of a run: every file with a picture extension (any case: {@code .jpg .jpeg .png .webp .bmp
 * .tif .tiff}) below a folder, recursively, with output folders mirroring the input's; or the paths listed in a text
 * file, one per line ({@code #} starts a comment; relative paths are relative to the list), written flat. Names that
 * would share outputs ({@code a.jpg} and {@code a.png} in one folder) get the extension in their stem
 * ({@code a_jpg}, {@code a_png}) instead of overwriting each other.
 */
public final class BatchInputs {

    private static final Set<String> EXTENSIONS = Set.of(".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff");

    /** Pictures found, and listed paths that do not exist or are not pictures. */
    public record Found(List<InputImage> images, List<Problem> problems) {
    }

    /** A listed entry that is not a picture to segment, and why. */
    public record Problem(String entry, String reason) {
    }

    private BatchInputs() {
    }

    public static Found collect(Path input, Path outputRoot) throws IOException {
        List<Path> files = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        Path root;
        boolean mirror;
        if (Files.isDirectory(input)) {
            root = input;
            mirror = true;
            Path skip = outputRoot.toAbsolutePath().normalize();
            try (Stream<Path> walk = Files.walk(input)) {
                walk.filter(Files::isRegularFile)
                        .filter(p -> !p.toAbsolutePath().normalize().startsWith(skip)) // never our own outputs
                        .filter(p -> EXTENSIONS.contains(extension(p).toLowerCase(Locale.ROOT)))
                        .sorted()
                        .forEach(files::add);
            }
        } else if (Files.isRegularFile(input)) {
            root = input.toAbsolutePath().getParent();
            mirror = false;
            for (String line : Files.readAllLines(input)) {
                String entry = line.strip();
                if (entry.isEmpty() || entry.startsWith("#")) {
                    continue;
                }
                Path file = root.resolve(entry);
                if (!Files.isRegularFile(file)) {
                    problems.add(new Problem(entry, "no such file"));
                } else if (!EXTENSIONS.contains(extension(file).toLowerCase(Locale.ROOT))) {
                    problems.add(new Problem(entry, "not a picture extension " + EXTENSIONS));
                } else {
                    files.add(file);
                }
            }
        } else {
            throw new IOException("input not found: " + input);
        }
        return new Found(name(files, root, mirror), problems);
    }

    private static List<InputImage> name(List<Path> files, Path root, boolean mirror) {
        Map<String, Integer> stems = new HashMap<>();
        for (Path file : files) {
            stems.merge(key(relativeDir(file, root, mirror), stem(file)), 1, Integer::sum);
        }
        List<InputImage> images = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        for (Path file : files) {
            Path dir = relativeDir(file, root, mirror);
            String stem = stem(file);
            if (stems.get(key(dir, stem)) > 1) {
                stem = stem + "_" + extension(file).substring(1);
            }
            String unique = stem;
            for (int n = 2; !taken.add(key(dir, unique)); n++) {
                unique = stem + "_" + n;
            }
            images.add(new InputImage(file, dir, unique, extension(file)));
        }
        return images;
    }

    private static Path relativeDir(Path file, Path root, boolean mirror) {
        if (!mirror) {
            return Path.of("");
        }
        Path parent = root.relativize(file).getParent();
        return parent == null ? Path.of("") : parent;
    }

    private static String key(Path dir, String stem) {
        return dir + "/" + stem.toLowerCase(Locale.ROOT); // case-insensitive: safe on every file system
    }

    static String stem(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    static String extension(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(dot) : "";
    }
}
