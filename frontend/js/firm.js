// The firm's contact details: the ONE place to change them. Every page that shows an
// address, an e-mail or a telephone number fills it from here (see firm-details.js).
// Telephone numbers are written as people read them; the tel: link keeps only + and digits.

export const FIRM = {
  name: 'SequoAlpha Management',
  office: {
    lines: ['SequoAlpha Management', 'One Redwood Plaza, 20th floor', 'San Francisco, CA 94111'],
  },
  newRelationships: {
    email: 'partners@sequoalpha.example',
    phone: '+1 (415) 555-0142',
  },
  clientService: {
    email: 'clientservice@sequoalpha.example',
    phone: '+1 (415) 555-0199',
    hours: 'Monday to Friday, 8:00–18:00 Pacific',
  },
};
