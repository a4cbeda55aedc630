package dev.sapienseg.classes;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import dev.sapienseg.logging.LogSafe;

/**
 * The classes a caller wants as one region: named groups ({@link #GROUPS}: {@code person}, {@code face}, {@code hair},
 * {@code skin}, {@code clothing}, {@code upper-body}…), single classes by name ({@code Upper_Clothing}, any case,
 * {@code -} for {@code _}) or by id ({@code 22}), joined with {@code +} or {@code ,}; {@code invert} takes every other
 * class instead. Resolved against the vocabulary of the model being served, so {@code face} means Sapiens2's ids
 * (Eyeglass at 2, everything after moved up by one) when a Sapiens2 model is served.
 *
 * @param expression what was asked for, normalised (lower case, {@code +}-joined)
 * @param classIds the selected ids in the served vocabulary, ascending (after {@code invert})
 */
public record Selection(String expression, boolean invert, List<Integer> classIds, List<String> classNames) {

    /** The selection when none is given: the person (every class but the background), not inverted. */
    public static final String DEFAULT = "person";

    /** Longest expression accepted (it comes from callers). */
    public static final int MAX_EXPRESSION = 512;

    /**
     * The named groups, by the class names they take (a name the served vocabulary lacks, like Eyeglass in Goliath's,
     * is skipped). {@code person} and {@code background} are by id: every id above 0, and 0.
     */
    public static final Map<String, List<String>> GROUPS = groups();

    private static final Pattern SEPARATOR = Pattern.compile("[+,]");

    public Selection {
        classIds = List.copyOf(classIds);
        classNames = List.copyOf(classNames);
    }

    /**
     * Resolves {@code expression} (null or blank: {@value #DEFAULT}) against {@code vocabulary}.
     *
     * @throws IllegalArgumentException naming the entry and what is accepted for this vocabulary
     */
    public static Selection parse(String expression, boolean invert, Vocabulary vocabulary) {
        String text = expression == null || expression.isBlank() ? DEFAULT : expression.trim();
        if (text.length() > MAX_EXPRESSION) {
            throw new IllegalArgumentException("selection is longer than " + MAX_EXPRESSION + " characters");
        }
        int count = vocabulary.names().size();
        boolean[] chosen = new boolean[count];
        for (String part : SEPARATOR.split(text, -1)) {
            String token = part.trim().toLowerCase(Locale.ROOT);
            if (token.isEmpty()) {
                throw new IllegalArgumentException("empty entry in selection '" + LogSafe.of(text, 80) + "'; join"
                        + " groups, class names or ids with '+'");
            }
            if (!add(token, chosen, vocabulary)) {
                throw new IllegalArgumentException("unknown selection '" + LogSafe.of(part.trim(), 60) + "' for "
                        + vocabulary.name() + " classes; use a group (" + String.join(", ", groupsOf(vocabulary))
                        + "), a class name (" + String.join(", ", vocabulary.names()) + ") or an id 0-" + (count - 1));
            }
        }
        List<Integer> ids = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int id = 0; id < count; id++) {
            if (chosen[id] != invert) {
                ids.add(id);
                names.add(vocabulary.names().get(id));
            }
        }
        return new Selection(normalise(text), invert, ids, names);
    }

    /** How {@link #expression} writes what was asked for (null or blank: {@value #DEFAULT}). */
    public static String normalise(String expression) {
        String text = expression == null || expression.isBlank() ? DEFAULT : expression.trim();
        List<String> tokens = new ArrayList<>();
        for (String part : SEPARATOR.split(text, -1)) {
            String token = part.trim().toLowerCase(Locale.ROOT);
            if (!tokens.contains(token)) {
                tokens.add(token);
            }
        }
        return String.join("+", tokens);
    }

    /** The groups that mean something for {@code vocabulary} (at least one of their classes is in it). */
    public static List<String> groupsOf(Vocabulary vocabulary) {
        List<String> out = new ArrayList<>();
        for (String group : GROUPS.keySet()) {
            if (add(group, new boolean[vocabulary.names().size()], vocabulary)) {
                out.add(group);
            }
        }
        return out;
    }

    /** True if class {@code id} is selected. */
    public boolean contains(int id) {
        return classIds.contains(id);
    }

    /** 255 for each selected class id, 0 otherwise, indexed by the unsigned class id byte. */
    public byte[] lookup() {
        byte[] table = new byte[256];
        for (int id : classIds) {
            table[id] = (byte) 255;
        }
        return table;
    }

    private static boolean add(String token, boolean[] chosen, Vocabulary vocabulary) {
        if (token.equals("person") || token.equals("background")) {
            for (int id = 0; id < chosen.length; id++) {
                chosen[id] |= token.equals("person") == (id > 0);
            }
            return true;
        }
        List<String> members = GROUPS.get(token);
        if (members != null) {
            boolean any = false;
            for (String member : members) {
                int id = indexOf(vocabulary, member);
                if (id >= 0) {
                    chosen[id] = true;
                    any = true;
                }
            }
            return any;
        }
        if (token.chars().allMatch(Character::isDigit) && token.length() <= 3) {
            int id = Integer.parseInt(token);
            if (id < chosen.length) {
                chosen[id] = true;
                return true;
            }
            return false;
        }
        int id = indexOf(vocabulary, token);
        if (id >= 0) {
            chosen[id] = true;
            return true;
        }
        return false;
    }

    private static int indexOf(Vocabulary vocabulary, String name) {
        String wanted = name.replace('-', '_');
        List<String> names = vocabulary.names();
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i).equalsIgnoreCase(wanted)) {
                return i;
            }
        }
        return -1;
    }

    private static Map<String, List<String>> groups() {
        List<String> mouth = List.of("Upper_Lip", "Lower_Lip", "Upper_Teeth", "Lower_Teeth", "Tongue");
        List<String> arms = List.of("Left_Upper_Arm", "Left_Lower_Arm", "Right_Upper_Arm", "Right_Lower_Arm");
        List<String> hands = List.of("Left_Hand", "Right_Hand");
        List<String> legs = List.of("Left_Upper_Leg", "Left_Lower_Leg", "Right_Upper_Leg", "Right_Lower_Leg");
        List<String> feet = List.of("Left_Foot", "Right_Foot");
        List<String> footwear = List.of("Left_Shoe", "Right_Shoe", "Left_Sock", "Right_Sock");
        List<String> face = concat(List.of("Face_Neck", "Eyeglass"), mouth);
        Map<String, List<String>> g = new LinkedHashMap<>();
        g.put("person", List.of());
        g.put("background", List.of());
        g.put("face", face);
        g.put("head", concat(face, List.of("Hair")));
        g.put("hair", List.of("Hair"));
        g.put("mouth", mouth);
        g.put("lips", List.of("Upper_Lip", "Lower_Lip"));
        g.put("teeth", List.of("Upper_Teeth", "Lower_Teeth"));
        g.put("skin", concat(List.of("Face_Neck", "Torso", "Upper_Lip", "Lower_Lip"), arms, hands, legs, feet));
        g.put("clothing", concat(List.of("Apparel", "Upper_Clothing", "Lower_Clothing"), footwear));
        g.put("footwear", footwear);
        g.put("arms", arms);
        g.put("hands", hands);
        g.put("legs", legs);
        g.put("feet", feet);
        g.put("upper-body", concat(face, List.of("Hair", "Torso", "Upper_Clothing"), arms, hands));
        g.put("lower-body", concat(List.of("Lower_Clothing"), legs, feet, footwear));
        return java.util.Collections.unmodifiableMap(g);
    }

    @SafeVarargs
    private static List<String> concat(List<String>... parts) {
        List<String> out = new ArrayList<>();
        for (List<String> part : parts) {
            out.addAll(part);
        }
        return List.copyOf(out);
    }
}
