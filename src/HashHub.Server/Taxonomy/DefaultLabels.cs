using HashHub.Server.Storage;

namespace HashHub.Server.Taxonomy;

/// <summary>
/// The taxonomy a new hub starts with, in the spirit of GIFCT's behavioural taxonomy: what the content is and
/// what it does. Entities and incidents are consortium-specific, so admins add those.
/// </summary>
internal static class DefaultLabels
{
    public static IEnumerable<LabelEntity> Create(DateTimeOffset now) =>
    [
        L("content_type:image", LabelCategory.ContentType, "Image", "A still image.", now),
        L("content_type:video", LabelCategory.ContentType, "Video", "A video file.", now),
        L("content_type:livestream", LabelCategory.ContentType, "Livestream", "A livestream or a recording of one.", now),
        L("content_type:audio", LabelCategory.ContentType, "Audio", "An audio recording, such as a nasheed or a speech.", now),
        L("content_type:document", LabelCategory.ContentType, "Document", "A document, such as a PDF or a publication.", now),
        L("content_type:url", LabelCategory.ContentType, "URL", "A link to content hosted elsewhere.", now),
        L("behavior:imminent_threat", LabelCategory.Behavior, "Imminent credible threat",
            "A credible threat of violence against identifiable people or places, or a call to imminent violence.", now),
        L("behavior:graphic_violence", LabelCategory.Behavior, "Graphic violence against defenceless people",
            "Depicts killing, torture or serious injury of defenceless people.", now),
        L("behavior:glorification", LabelCategory.Behavior, "Glorification of terrorist acts",
            "Praises or celebrates a terrorist attack or its perpetrators, including memorials that present them as heroes.", now),
        L("behavior:recruitment", LabelCategory.Behavior, "Recruitment",
            "Seeks to recruit people to a terrorist or violent extremist group or cause.", now),
        L("behavior:instruction", LabelCategory.Behavior, "Instructional material",
            "Teaches how to carry out an attack: weapons, explosives, tactics, target selection.", now),
        L("behavior:incitement", LabelCategory.Behavior, "Incitement",
            "Calls on others to commit violence, without a specific imminent target.", now),
        L("behavior:manifesto", LabelCategory.Behavior, "Attacker manifesto",
            "A manifesto or other publication by the perpetrator of an attack.", now),
        L("behavior:branded_propaganda", LabelCategory.Behavior, "Branded terrorist content",
            "Official media output carrying the branding of a terrorist organisation.", now),
    ];

    private static LabelEntity L(string key, LabelCategory category, string name, string description, DateTimeOffset now) =>
        new() { Key = key, Category = category, DisplayName = name, Description = description, CreatedAt = now };
}
