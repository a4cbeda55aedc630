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

import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.output.OutputLayout;

/**
 * Finds the pictures of a run: every file with a picture extension (any case: {@code .jpg .jpeg .png .webp .bmp
 * .tif .tiff}) below a folder, recursively, with output folders mirroring the input's; or the paths listed in a text
 * file, one per line ({@code #} starts a comment; relative paths are relative to the list), written flat. No two
 * pictures share an output file: see {@link #name}.
 */
public final class BatchInputs {

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
                        .filter(p -> ImageFormat.byExtension(extension(p)).isPresent())
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
                } else if (ImageFormat.byExtension(extension(file)).isEmpty()) {
                    problems.add(new Problem(entry, "not a picture extension " + ImageFormat.pictureExtensions()));
                } else {
                    files.add(file);
                }
            }
        } else {
            throw new IOException("input not found: " + input);
        }
        return new Found(name(files, root, mirror), problems);
    }

    /**
     * Names every picture's outputs so that no two pictures of the run share a file. Sapiens' own names are kept
     * whenever they are free ({@code <stem>.npy}, {@code <stem>_seg.npy}, the visualisation {@code <stem>.<ext>};
     * ours {@code <stem>_seg.png}, {@code <stem>.json}: {@link OutputLayout#SAPIENS_FOLDER}, every kind whatever
     * {@code --outputs} chooses, so names do not depend on it); then, in sorted order:
     * pictures of one folder with the same stem ({@code a.jpg}, {@code a.png}) take their extension into it
     * ({@code a_jpg}, {@code a_png}), and a picture any of whose file names an earlier picture already has (the class
     * map {@code x_seg.npy} of {@code x.jpg} is the mask of {@code x_seg.jpg}; {@code x_seg.png} is both a class PNG
     * and a visualisation) gets {@code _2}, {@code _3}… until all its names are free. The check is over the whole set
     * of output file names, case-insensitively (safe on every file system), and it starts with the run's own file,
     * {@code coco.json} at the top, so the result is collision-free by construction.
     */
    private static List<InputImage> name(List<Path> files, Path root, boolean mirror) {
        Map<String, Integer> stems = new HashMap<>();
        for (Path file : files) {
            stems.merge(key(relativeDir(file, root, mirror), stem(file)), 1, Integer::sum);
        }
        List<InputImage> images = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        taken.add(key(Path.of(""), CocoDataset.FILE)); // the run's dataset: a picture coco.jpg at the top is coco_2
        for (Path file : files) {
            Path dir = relativeDir(file, root, mirror);
            String stem = stem(file);
            String extension = extension(file);
            if (stems.get(key(dir, stem)) > 1) {
                stem = stem + "_" + extension.substring(1);
            }
            String unique = stem;
            for (int n = 2; !free(taken, dir, unique, extension); n++) {
                unique = stem + "_" + n;
            }
            for (String name : OutputLayout.SAPIENS_FOLDER.fileNames(unique, extension)) {
                taken.add(key(dir, name));
            }
            images.add(new InputImage(file, dir, unique, extension));
        }
        return images;
    }

    private static boolean free(Set<String> taken, Path dir, String stem, String extension) {
        for (String name : OutputLayout.SAPIENS_FOLDER.fileNames(stem, extension)) {
            if (taken.contains(key(dir, name))) {
                return false;
            }
        }
        return true;
    }

    private static Path relativeDir(Path file, Path root, boolean mirror) {
        if (!mirror) {
            return Path.of("");
        }
        Path parent = root.relativize(file).getParent();
        return parent == null ? Path.of("") : parent;
    }

    private static String key(Path dir, String name) {
        return dir + "/" + name.toLowerCase(Locale.ROOT); // case-insensitive: safe on every file system
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
